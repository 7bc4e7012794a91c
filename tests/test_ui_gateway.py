"""The gate in front of the Dagster UI, in process: a recording app stands in for Dagster's webserver."""

import asyncio
import json

import pytest

from workflows.command.ui_gateway import UIGateway

PORT = 3000
SAME_ORIGIN = [(b"host", b"127.0.0.1:3000"), (b"origin", b"http://127.0.0.1:3000"),
               (b"sec-fetch-site", b"same-origin"), (b"sec-fetch-mode", b"cors"), (b"sec-fetch-dest", b"empty")]
JSON = [(b"content-type", b"application/json")]
SELECTOR = '{repositoryLocationName: "cleantech_survey", repositoryName: "__repository__"}'
ADD = ('mutation { addDynamicPartition(repositorySelector: %s, partitionsDefName: "wave", partitionKey: "%%s") '
       '{ __typename } }' % SELECTOR)
ADD_WITH_VARIABLE = ('mutation Add($key: String!) { addDynamicPartition(repositorySelector: %s, '
                     'partitionsDefName: "wave", partitionKey: $key) { __typename } }' % SELECTOR)
LAUNCH = ('mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename } }')
LAUNCH_LITERAL = ('mutation { launchRun(executionParams: {selector: {repositoryLocationName: "cleantech_survey", '
                  'repositoryName: "__repository__", jobName: "wave_job"}, runConfigData: %s}) { __typename } }')
QUERY = '{ assetNodes { assetKey { path } } }'


class Recorder:
    """The inner app: records what reached it and answers 200 (accepts a websocket)."""

    def __init__(self):
        self.calls: list[tuple[dict, bytes | None]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            self.calls.append((scope, None))
            await send({"type": "websocket.accept"})
            return
        if scope["type"] == "lifespan":
            self.calls.append((scope, None))
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls.append((scope, body))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"inner"})


def channel(messages: list[dict]):
    """An ASGI receive that hands out the messages (then waits, as a client that says no more
    would), a send that records, and the record."""
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    return receive, send, sent


def call(method: str, path: str = "/graphql", query: bytes = b"", headers=None, body: bytes | list[bytes] = b"",
         host: str = "127.0.0.1", port: int = PORT):
    """One HTTP request through the gate: (status, headers, body, what reached the inner app)."""
    inner = Recorder()
    gateway = UIGateway(inner, host, port)
    chunks = body if isinstance(body, list) else [body]
    messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]
    receive, send, sent = channel(messages)
    scope = {"type": "http", "method": method, "path": path, "query_string": query, "root_path": "",
             "headers": list(SAME_ORIGIN if headers is None else headers), "scheme": "http",
             "server": (host, port), "client": ("127.0.0.1", 50000)}
    asyncio.run(gateway(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    response_body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), response_body, inner.calls


def post(payload, headers=None, **kwargs):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return call("POST", headers=(SAME_ORIGIN + JSON) if headers is None else headers, body=body, **kwargs)


def websocket(headers, host: str = "127.0.0.1", port: int = PORT):
    """A websocket handshake through the gate: the first message sent back, and what reached the app."""
    inner = Recorder()
    receive, send, sent = channel([{"type": "websocket.connect"}])
    scope = {"type": "websocket", "path": "/graphql", "query_string": b"", "headers": headers, "root_path": "",
             "scheme": "ws", "server": (host, port), "client": ("127.0.0.1", 50000), "subprotocols": ["graphql-ws"]}
    asyncio.run(UIGateway(inner, host, port)(scope, receive, send))
    return sent[0], inner.calls


def refused_with(response, status: int) -> str:
    """The one sentence of a refusal that never reached Dagster."""
    got, headers, body, calls = response
    assert got == status, body
    assert calls == []
    if headers[b"content-type"].startswith(b"application/json"):
        sentence = json.loads(body)["errors"][0]["message"]
    else:
        sentence = body.decode().strip()
    assert sentence.endswith(".") and "\n" not in sentence
    return sentence


def passed(response, body: bytes | None = None):
    got, headers, answer, calls = response
    assert (got, answer) == (200, b"inner")
    assert len(calls) == 1
    if body is not None:
        assert calls[0][1] == body  # replayed to Dagster byte for byte
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    return calls[0]


# Operations in the address: an <img src> or a link can send them.

@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/graphql", "/graphql/", "/dagster/graphql", "/GraphQL"])
def test_an_operation_in_the_address_is_refused(method, path):
    query = b"query=" + ADD.replace("%s", "w1").encode().replace(b" ", b"+")
    response = call(method, path, query=query, headers=[(b"host", b"127.0.0.1:3000")])
    if method == "HEAD":  # the same answer, without its body
        assert response[0] == 405 and response[2] == b"" and response[3] == []
    else:
        assert "POST" in refused_with(response, 405)


def test_a_read_only_query_in_the_address_is_refused_too():
    refused_with(call("GET", query=b"query=%7B+version+%7D"), 405)


def test_a_post_carrying_the_operation_in_the_address_is_refused():
    # Dagster reads the address when a POST's content type is neither JSON nor GraphQL (a form can send that).
    response = call("POST", query=b"query=mutation+%7B+x+%7D", body=b"a=b",
                    headers=[(b"host", b"127.0.0.1:3000"), (b"content-type", b"text/plain")])
    refused_with(response, 405)


def test_get_without_an_operation_passes():
    passed(call("GET", headers=[(b"host", b"127.0.0.1:3000"), (b"accept", b"text/html")]))  # GraphiQL's page
    passed(call("GET", query=b"op=AssetGraphQuery"))
    passed(call("GET", path="/assets", query=b"query=anything"))  # not GraphQL: a page of the UI


# Cross-origin requests and DNS rebinding.

def test_a_cross_origin_post_is_refused():
    headers = [(b"host", b"127.0.0.1:3000"), (b"origin", b"http://evil.example"), *JSON]
    sentence = refused_with(post({"query": QUERY}, headers=headers), 403)
    assert "origin" in sentence


@pytest.mark.parametrize("origin", [b"null", b"http://127.0.0.1:8080", b"https://127.0.0.1:3000",
                                    b"http://127.0.0.1.evil.example:3000", b"http://localhost:3000/x"])
def test_an_origin_that_is_not_the_served_one_is_refused(origin):
    refused_with(post({"query": QUERY}, headers=[(b"host", b"127.0.0.1:3000"), (b"origin", origin), *JSON]), 403)


@pytest.mark.parametrize("origin", [b"http://127.0.0.1:3000", b"http://localhost:3000", b"http://[::1]:3000"])
def test_the_served_origins_pass(origin):
    passed(post({"query": QUERY}, headers=[(b"host", b"localhost:3000"), (b"origin", origin), *JSON]))


def test_a_request_without_origin_passes_like_curl():
    passed(post({"query": QUERY}, headers=[(b"host", b"127.0.0.1:3000"), *JSON]))
    passed(post({"query": QUERY}, headers=JSON))  # no Host at all: not a browser


def test_a_cross_site_fetch_is_refused_even_without_origin():
    headers = [(b"host", b"127.0.0.1:3000"), (b"sec-fetch-site", b"cross-site"), (b"sec-fetch-mode", b"no-cors"),
               (b"sec-fetch-dest", b"image")]
    refused_with(call("GET", path="/graphql", headers=headers), 403)
    headers[1] = (b"sec-fetch-site", b"same-site")  # another port of localhost is another origin
    refused_with(call("GET", path="/graphql", headers=headers), 403)


def test_a_link_from_another_site_still_opens_a_page():
    headers = [(b"host", b"127.0.0.1:3000"), (b"sec-fetch-site", b"cross-site"), (b"sec-fetch-mode", b"navigate"),
               (b"sec-fetch-dest", b"document")]
    passed(call("GET", path="/runs", headers=headers))
    refused_with(call("GET", path="/runs", headers=headers[:3] + [(b"sec-fetch-dest", b"iframe")]), 403)
    refused_with(call("GET", query=b"query=mutation+%7B+x+%7D", headers=headers), 405)


@pytest.mark.parametrize("host", [b"evil.example:3000", b"rebind.evil.example", b"127.0.0.1:3000@evil.example",
                                  b"localhost.:3000", b"127.0.0.1:3000/x", b"127.0.0.1:port"])
def test_a_host_header_naming_another_host_is_refused(host):
    sentence = refused_with(call("GET", path="/", headers=[(b"host", host)]), 403)
    assert "host" in sentence


def test_through_a_forwarded_port_only_the_forwarded_origin_passes():
    # ssh -L 8080:127.0.0.1:3000: the browser sends Host localhost:8080 and its page's origin is that.
    passed(post({"query": QUERY}, headers=[(b"host", b"localhost:8080"), (b"origin", b"http://localhost:8080"), *JSON]))
    passed(call("GET", path="/", headers=[(b"host", b"localhost:8080")]))
    refused_with(post({"query": QUERY}, headers=[(b"host", b"localhost:8080"),
                                                 (b"origin", b"http://localhost:8081"), *JSON]), 403)
    refused_with(post({"query": QUERY}, headers=[(b"host", b"evil.example:8080"),
                                                 (b"origin", b"http://evil.example:8080"), *JSON]), 403)


def test_two_host_headers_are_refused():
    refused_with(call("GET", path="/", headers=[(b"host", b"127.0.0.1:3000"), (b"host", b"evil.example")]), 400)


@pytest.mark.parametrize("host", [b"127.0.0.1:3000", b"localhost:3000", b"[::1]:3000", b"LOCALHOST:3000"])
def test_the_loopback_names_pass(host):
    passed(call("GET", path="/", headers=[(b"host", host)]))


def test_the_given_host_passes_and_every_address_when_listening_on_all():
    passed(call("GET", path="/", headers=[(b"host", b"survey-box:8080")], host="survey-box", port=8080))
    passed(call("GET", path="/", headers=[(b"host", b"192.168.1.20:3000")], host="0.0.0.0"))
    refused_with(call("GET", path="/", headers=[(b"host", b"192.168.1.20:3000")]), 403)
    refused_with(call("GET", path="/", headers=[(b"host", b"rebind.evil.example:3000")], host="0.0.0.0"), 403)


def test_a_cross_origin_websocket_is_refused_and_a_same_origin_one_passes():
    first, calls = websocket([(b"host", b"127.0.0.1:3000"), (b"origin", b"http://evil.example")])
    assert first == {"type": "websocket.close", "code": 1008} and calls == []
    first, calls = websocket([(b"host", b"evil.example:3000"), (b"origin", b"http://evil.example:3000")])
    assert first["type"] == "websocket.close" and calls == []
    first, calls = websocket([(b"host", b"127.0.0.1:3000"), (b"origin", b"http://127.0.0.1:3000")])
    assert first == {"type": "websocket.accept"} and len(calls) == 1


# Mutations: partition keys are wave ids, run config names no resources.

def test_adding_a_partition_that_is_no_wave_id_is_refused():
    sentence = refused_with(post({"query": ADD % "../../x"}), 403)
    assert "'../../x' is not a wave id" in sentence


@pytest.mark.parametrize("variables", [{"key": "../../x"}, json.dumps({"key": "../../outside/pwn"}),
                                       {"key": "w" * 33}, {"key": "-w1"}, {"key": "w1\n"}])
def test_adding_a_partition_from_a_variable_that_is_no_wave_id_is_refused(variables):
    refused_with(post({"query": ADD_WITH_VARIABLE, "variables": variables, "operationName": "Add"}), 403)


def test_a_variables_default_value_is_checked_too():
    query = ADD_WITH_VARIABLE.replace("$key: String!", '$key: String = "../../x"')
    refused_with(post({"query": query}), 403)


def test_a_mutation_in_a_fragment_is_checked_too():
    query = ('mutation { ...Add } fragment Add on Mutation { addDynamicPartition(repositorySelector: %s, '
             'partitionsDefName: "wave", partitionKey: "../x") { __typename } }' % SELECTOR)
    refused_with(post({"query": query}), 403)


def test_any_partition_key_argument_of_a_mutation_is_checked():
    for query in ['mutation { addDynamicPartitions(partitionsDefName: "wave", partitionKeys: ["w1", "../x"]) { ok } }',
                  'mutation { launchPartitionBackfill(backfillParams: {partitionNames: ["w1", "/etc"]}) { ok } }',
                  'mutation { reportRunlessAssetEvents(eventParams: {partitionKeys: ["..\\\\x"]}) { ok } }',
                  'mutation { launchPartitionBackfill(backfillParams: {partitionsByAssets: [{partitions: '
                  '{range: {start: "w1", end: "../x"}}}]}) { ok } }']:
        refused_with(post({"query": query}), 403)


def test_a_partition_tag_on_a_launched_run_is_checked():
    params = {"selector": {"repositoryLocationName": "cleantech_survey", "repositoryName": "__repository__",
                           "jobName": "wave_job"},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "../../outside"}]}}
    refused_with(post({"query": LAUNCH, "variables": {"params": params}}), 403)
    params["executionMetadata"]["tags"][0]["value"] = "w2010"
    passed(post({"query": LAUNCH, "variables": {"params": params}}))


def test_adding_a_wave_passes_unchanged():
    body = json.dumps({"query": ADD_WITH_VARIABLE, "variables": {"key": "w2010"}, "operationName": "Add"}).encode()
    passed(post(body), body=body)
    passed(post({"query": ADD % "W-2010_b"}))


def test_removing_a_bad_key_added_before_the_gate_passes():
    query = ('mutation { deleteDynamicPartitions(repositorySelector: %s, partitionsDefName: "wave", '
             'partitionKeys: ["../../../outside/pwn"]) { __typename } }' % SELECTOR)
    passed(post({"query": query}))


@pytest.mark.parametrize("config", ['{resources: {wave_files: {config: {raw_dir: "/"}}}}',
                                    '"resources:\\n  warehouse:\\n    config: {database: /tmp/x.duckdb}\\n"',
                                    '"{resources: {}}"'])
def test_run_config_with_resources_is_refused(config):
    sentence = refused_with(post({"query": LAUNCH_LITERAL % config}), 403)
    assert "resources" in sentence


def test_run_config_with_resources_in_a_variable_is_refused():
    for run_config in [{"resources": {"wave_files": {"config": {"outputs_dir": "/tmp"}}}},
                       "resources:\n  wave_files: {}\n", "{'resources': {}}"]:
        params = {"selector": {"repositoryLocationName": "cleantech_survey", "repositoryName": "__repository__",
                               "jobName": "wave_job"}, "runConfigData": run_config}
        refused_with(post({"query": LAUNCH, "variables": {"params": params}}), 403)


def test_run_config_without_resources_passes():
    passed(post({"query": LAUNCH_LITERAL % '{ops: {}}'}))
    passed(post({"query": LAUNCH_LITERAL % '"execution: {}\\n"'}))


def test_unreadable_run_config_is_refused():
    refused_with(post({"query": LAUNCH_LITERAL % '"resources: [unclosed"'}), 403)


def test_queries_pass_untouched_whatever_they_name():
    body = json.dumps({"query": '{ assetNodes { assetMaterializations(partitions: ["../../x"]) { runId } } }'}).encode()
    passed(post(body), body=body)
    body = json.dumps({"query": "query Mutation { not a document"}).encode()  # Dagster answers for it
    passed(post(body), body=body)


def test_batched_bodies_are_checked_one_by_one():
    refused_with(post([{"query": QUERY}, {"query": ADD % "../x"}]), 403)
    body = json.dumps([{"query": QUERY}, {"query": ADD % "w1"}]).encode()
    passed(post(body), body=body)


def test_a_body_in_pieces_is_read_whole_and_replayed():
    body = json.dumps({"query": ADD % "../../x"}).encode()
    refused_with(call("POST", headers=SAME_ORIGIN + JSON, body=[body[:10], body[10:40], body[40:]]), 403)
    body = json.dumps({"query": ADD % "w1"}).encode()
    passed(call("POST", headers=SAME_ORIGIN + JSON, body=[body[:10], body[10:40], body[40:]]), body=body)


def test_a_graphql_document_body_is_checked():
    headers = SAME_ORIGIN + [(b"content-type", b"application/graphql")]
    refused_with(call("POST", headers=headers, body=(ADD % "../x").encode()), 403)
    passed(call("POST", headers=headers, body=(ADD % "w1").encode()))


def test_a_mutation_in_json_with_escapes_is_still_seen():
    body = json.dumps({"query": ADD % "../x"}).replace("mutation", "\\u006dutation").encode()
    refused_with(post(body), 403)


def test_a_body_the_gate_cannot_read_is_refused():
    refused_with(post(b"{not json"), 400)
    refused_with(post(b'"a string"'), 400)
    refused_with(post({"query": 42}), 400)
    refused_with(post({"query": ADD % "w1", "variables": "[1, 2]"}), 400)
    refused_with(post({"query": "mutation { broken(" }), 400)
    refused_with(post(b"[" * 100000 + b"]" * 100000), 400)


def test_a_body_over_the_limit_is_refused():
    body = json.dumps({"query": QUERY, "padding": "x" * (1 << 20)}).encode()
    refused_with(post(body), 413)
    refused_with(call("POST", headers=SAME_ORIGIN + JSON, body=[body[:600000], body[600000:]]), 413)


def test_other_traffic_passes_through():
    inner = Recorder()
    asyncio.run(UIGateway(inner, "127.0.0.1", PORT)({"type": "lifespan"}, None, None))
    assert inner.calls == [({"type": "lifespan"}, None)]
