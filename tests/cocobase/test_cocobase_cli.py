"""The CocoBase sample from the command line: db seed/dump, invoke by path and by id."""

from __future__ import annotations

import json

import pytest
from helpers import run_funcstudio as run


@pytest.fixture(scope="module")
def demo(sample_copy):
    target = sample_copy("cocobase-demo")
    seeded = run("db", str(target), "seed", str(target / "seed.json"))
    assert seeded.returncode == 0, seeded.stderr
    assert "products: 5" in seeded.stdout and "users: 2" in seeded.stdout
    return target


def test_dump_and_collections(demo):
    dumped = run("db", str(demo), "dump", "products")
    assert dumped.returncode == 0
    assert [p["sku"] for p in json.loads(dumped.stdout)["products"]][:2] == ["BK-001", "BK-002"]
    listed = run("db", str(demo), "collections")
    assert "products\t5" in listed.stdout


def test_bad_seed_files_are_clear_and_change_nothing(demo, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"products": [{"sku": "NEW"}, "not an object"]}')
    out = run("db", str(demo), "seed", str(bad))
    assert out.returncode == 1 and "products[1] is not an object" in out.stderr and "Traceback" not in out.stderr
    assert "NEW" not in run("db", str(demo), "dump", "products").stdout  # all or nothing
    out = run("db", str(demo), "seed", str(tmp_path / "missing.json"))
    assert out.returncode == 1 and "cannot read" in out.stderr


def test_invoke_by_path_and_by_id(demo):
    out = run("invoke", str(demo), "/functions/products/execute?max_price=20", "--json")
    assert out.returncode == 0, out.stderr
    envelope = json.loads(json.loads(out.stdout)["body"])
    assert envelope["success"] is True and envelope["result"]["total"] == 3
    out = run("invoke", str(demo), "hello", "--event", "-", "--json", stdin='{"name": "Cli"}')
    envelope = json.loads(json.loads(out.stdout)["body"])
    assert envelope["result"]["message"] == "Hello, Cli!" and envelope["output"] == "greeting Cli via POST\n"


def test_send_mail_lands_in_the_outbox(demo):
    out = run("invoke", str(demo), "/functions/send-receipt/execute", "-X", "POST",
              "-H", "Authorization: Bearer demo-token-ada", "--json")
    record = json.loads(out.stdout)
    assert out.returncode == 0, out.stderr
    assert [m["to"] for m in record["outbox"]] == [["ada@example.com"]]
    assert json.loads(record["body"])["result"]["email_sent"]["success"] is True


def test_show_prints_the_recorded_outbox(demo):
    out = run("invoke", str(demo), "/functions/send-receipt/execute", "-X", "POST",
              "-H", "Authorization: Bearer demo-token-ada", "--json")
    request_id = json.loads(out.stdout)["request_id"]
    shown = run("show", str(demo), request_id)
    assert shown.returncode == 0, shown.stderr
    outbox = shown.stdout.split("Outbox", 1)[1]
    assert '"subject": "Your orders at the demo shop"' in outbox and "ada@example.com" in outbox
