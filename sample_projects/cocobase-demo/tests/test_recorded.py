# Invocations recorded by funcstudio, replayed as tests. Written by
#
#     funcstudio export sample_projects/cocobase-demo 7bccc29b 240bd371 --pytest
#
# Each test sends the recorded request through the `funcstudio` fixture (funcstudio's pytest
# plugin: the project's runtime, started once per session) and checks the status, the content
# type and the body. Edit them freely; run them with `python -m pytest`.

from __future__ import annotations

from studio.testing import without


def test_get_functions_hello_execute(funcstudio):
    """GET /functions/hello/execute answered 200, recorded 2026-12-06 17:46:35 UTC (request 7bccc29b)."""
    response = funcstudio.invoke('/functions/hello/execute?name=Ada', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json'
    # Left out (they change from run to run): ['result']['at'] (a date), ['execution_time'] (a
    # duration).
    volatile = [('result', 'at'), ('execution_time',)]
    expected = {'success': True,
                'result': {'message': 'Hello, Ada!', 'project': 'demo-shop', 'runtime': 'python3.10'},
                'output': 'greeting Ada via GET\n',
                'error': None}
    assert without(response.json(), volatile) == expected


def test_get_functions_status_execute(funcstudio):
    """GET /functions/status/execute answered 200, recorded 2026-12-06 17:46:37 UTC (request 240bd371)."""
    response = funcstudio.invoke('/functions/status/execute', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json'
    # Left out (they change from run to run): ['execution_time'] (a duration).
    volatile = [('execution_time',)]
    expected = {'success': True,
                'result': {'ok': True,
                           'project': 'demo-shop',
                           'static': 'https://storage/projects/demo-shop/static'},
                'output': '',
                'error': None}
    assert without(response.json(), volatile) == expected
