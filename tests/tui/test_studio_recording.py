"""The studio's header says when recording is off (a read-only `.funcstudio/`), and the studio
goes on serving."""

from __future__ import annotations

import subprocess

from helpers import write_files
from studio_helpers import RUN, make_app, wait_until

HELLO = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"


async def test_a_read_only_store_folder_shows_recording_off_in_the_header(tmp_path):
    project = write_files(tmp_path / "proj", {"cloud-functions/hello.py": HELLO})
    folder = project / ".funcstudio"
    folder.mkdir()
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        app = make_app(project)
        async with app.run_test(**RUN) as pilot:
            await wait_until(pilot, lambda: app.url is not None and "recording off" in app._header_text(),
                             what="the header saying recording is off")
            assert app.recorder is not None and "Read-only file system" in app.recorder.problem
            import http.client
            from urllib.parse import urlsplit

            port = urlsplit(app.url).port
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/hello")
            assert conn.getresponse().status == 200  # serving goes on
            conn.close()
    finally:
        subprocess.run(["umount", str(folder)], check=True)
