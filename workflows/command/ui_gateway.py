"""The gate in front of the Dagster UI: only the UI's own page may drive it, and no request may
name a path or a resource.

Dagster's webserver runs any GraphQL operation it is sent, from anyone who can reach the port,
and a web page the survey manager's browser opens can reach 127.0.0.1. This ASGI middleware
wraps the webserver's app and refuses, before Dagster sees them:

- GraphQL operations in the address (``GET /graphql?query=mutation...``, which an ``<img src>``
  or a link can send): operations must be POSTed; the Dagster UI itself POSTs them (with only
  ``?op=<name>`` in the address) and runs subscriptions over a websocket.
- Cross-origin requests: an ``Origin`` that is neither the served one nor the address the
  request itself was sent to (a port forwarded by ssh, say), ``Sec-Fetch-Site`` naming another
  site (following a link to a page is still let through), and a ``Host`` naming another host
  than the loopback names or ``--host`` (DNS rebinding).
- Mutations that add a partition key breaking the wave-id rule (the key becomes a folder name)
  or that carry run config with a ``resources`` section (paths come from the environment only),
  whether the values are literals or variables. Deleting partitions and wiping assets are let
  through, so that a key added before this gate existed can be removed.

Queries pass untouched. A body that cannot be read as JSON, or a document that could hold a
mutation but does not parse, is refused (400): what the gate cannot read, it does not pass.
"""

import ipaddress
import json
import socket
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

import yaml
from dagster_shared.yaml_utils import load_run_config_yaml
from graphql import GraphQLError, Undefined, parse
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.utilities import value_from_ast_untyped

from schemas.codebook import WAVE_ID

MAX_BODY_BYTES = 1 << 20
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})

# Arguments and input fields that carry partition keys (all partitions here are waves).
PARTITION_ARGUMENTS = frozenset({"partitionKey", "partitionKeys", "partitionNames"})
# Run tags that name a partition.
PARTITION_TAGS = frozenset({"dagster/partition", "dagster/asset_partition_range_start",
                            "dagster/asset_partition_range_end"})
# Mutations that only remove: they may name a key that breaks the rule, to get rid of it.
REMOVING_MUTATIONS = frozenset({"deleteDynamicPartitions", "wipeAssets"})


class Refusal(Exception):
    """A request the gate does not pass on: an HTTP status and one sentence."""

    def __init__(self, status: int, sentence: str):
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


class UIGateway:
    """ASGI middleware in front of the Dagster webserver served on ``host:port``."""

    def __init__(self, app, host: str, port: int, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.port = port
        self.max_body_bytes = max_body_bytes
        host = _bare_host(host)
        self.host_names = set(LOOPBACK_NAMES) | {host}
        # Listening on every address: the machine is reached by its names or by an address.
        self.any_address = host in WILDCARD_HOSTS
        if self.any_address:
            self.host_names |= {name.lower() for name in (socket.gethostname(), socket.getfqdn()) if name}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        try:
            self.check_origin(scope, headers)
            if _is_graphql_path(scope.get("path", "")):
                check_address(scope.get("query_string", b""), scope.get("method", "GET"))
                if scope["type"] == "http" and scope["method"] == "POST":
                    body = await self._read_body(receive, headers)
                    if body is None:  # the client went away
                        return
                    try:
                        check_graphql_body(_one(headers, "content-type") or "", body)
                    except RecursionError:
                        raise Refusal(400, "The GraphQL request is nested too deeply to be read.") from None
                    receive = _replay(body, receive)
        except Refusal as refusal:
            await _refuse(scope, send, refusal)
            return
        await self.app(scope, receive, _framed_by_us_only(send) if scope["type"] == "http" else send)

    def check_origin(self, scope, headers: Mapping[str, list[str]]) -> None:
        host = _one(headers, "host")
        here = _authority(host) if host is not None else None
        # The name decides (a rebound DNS name is another name); the port may be a tunnel's.
        if host is not None and (here is None or not self._served_name(here[0])):
            raise Refusal(403, "This server answers only to its own address, not to another host name.")
        origin = _one(headers, "origin")
        if origin is not None and not self._served_origin(origin, here):
            raise Refusal(403, "Requests from another web page (another origin) are refused: "
                               "open the Dagster UI from its own address.")
        site = (_one(headers, "sec-fetch-site") or "").lower()
        if site in ("cross-site", "same-site") and not _top_level_navigation(scope, headers):
            raise Refusal(403, "Requests from another web site are refused: open the Dagster UI "
                               "from its own address.")

    def _served_origin(self, origin: str, here: tuple[str, int] | None) -> bool:
        """The page's origin is this server: as the request names it (a forwarded port too), or as served."""
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        if parts.scheme != "http" or parts.path or parts.query or parts.fragment:
            return False
        there = _authority(parts.netloc)
        if there is None or not self._served_name(there[0]):
            return False
        return there == here or there[1] == self.port

    def _served_name(self, name: str) -> bool:
        if name in self.host_names:
            return True
        if self.any_address:  # an address cannot be rebound to another machine by DNS
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False

    async def _read_body(self, receive, headers) -> bytes | None:
        declared = _one(headers, "content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_body_bytes:
            raise Refusal(413, f"A GraphQL request may be at most {self.max_body_bytes} bytes.")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise Refusal(413, f"A GraphQL request may be at most {self.max_body_bytes} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def check_address(query_string: bytes, method: str) -> None:
    """Refuse an operation carried in the address: a link or an image can send those."""
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "query" and value.strip():
            raise Refusal(405, f"GraphQL operations must be sent in the body of a POST request, "
                               f"not in the address of a {method} request.")


def check_graphql_body(content_type: str, body: bytes) -> None:
    """Refuse a POSTed GraphQL body that Dagster would run with a forbidden mutation in it.

    The body is read as Dagster's webserver reads it: JSON if the content type says
    ``application/json``, the document itself if it says ``application/graphql``, and
    otherwise not at all (Dagster then reads the address, which ``check_address`` has seen).
    """
    if "application/json" in content_type:
        try:
            payload = json.loads(body)
        except ValueError:
            raise Refusal(400, "The GraphQL request is not valid JSON.") from None
        for request in payload if isinstance(payload, list) else [payload]:
            if not isinstance(request, dict):
                raise Refusal(400, "A GraphQL request must be a JSON object (or a list of them).")
            check_graphql_request(request.get("query"), request.get("variables"))
    elif "application/graphql" in content_type:
        try:
            document = body.decode()
        except UnicodeDecodeError:
            raise Refusal(400, "The GraphQL request is not valid UTF-8 text.") from None
        check_graphql_request(document, None)


def check_graphql_request(query, variables) -> None:
    if query is None:
        return  # Dagster answers "No GraphQL query found" itself
    if not isinstance(query, str):
        raise Refusal(400, "The GraphQL query must be a string.")
    if isinstance(variables, str):
        try:
            variables = json.loads(variables)
        except ValueError:
            raise Refusal(400, "The GraphQL variables are not valid JSON.") from None
    if variables is not None and not isinstance(variables, dict):
        raise Refusal(400, "The GraphQL variables must be a JSON object.")
    # A mutation needs the keyword in the document's own text (GraphQL has no escapes for names).
    if "mutation" not in query:
        return
    try:
        document = parse(query)
    except GraphQLError as error:
        raise Refusal(400, f"The GraphQL document could not be read: {error.message}") from None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode) and operation.operation == OperationType.MUTATION:
            values = {d.variable.name.value: value_from_ast_untyped(d.default_value)
                      for d in operation.variable_definitions or () if d.default_value is not None}
            values.update(variables or {})
            for problem in _mutation_problems(operation.selection_set, fragments, values, root=True, seen=set()):
                raise Refusal(403, problem)


def _mutation_problems(selection_set: SelectionSetNode | None, fragments, variables, root: bool,
                       seen: set) -> Iterator[str]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            if root and selection.name.value in REMOVING_MUTATIONS:
                continue
            for argument in selection.arguments or ():
                value = value_from_ast_untyped(argument.value, variables)
                yield from value_problems(argument.name.value, value)
            yield from _mutation_problems(selection.selection_set, fragments, variables, False, seen)
        elif isinstance(selection, InlineFragmentNode):
            yield from _mutation_problems(selection.selection_set, fragments, variables, root, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                yield from _mutation_problems(fragments[name].selection_set, fragments, variables, root, seen)


def value_problems(name, value) -> Iterator[str]:
    """What is wrong with an argument (or input field) ``name`` holding ``value``, one sentence each."""
    if value is None or value is Undefined:
        return
    if name in PARTITION_ARGUMENTS:
        for key in _strings(value):
            if not WAVE_ID.fullmatch(key):
                yield _not_a_wave(key)
        return
    if name == "runConfigData":
        config = value
        if isinstance(value, str) and value.strip():
            try:
                config = load_run_config_yaml(value)
            except yaml.YAMLError:
                yield "The run config could not be read as YAML; it was not passed on."
                return
        if isinstance(config, Mapping) and "resources" in config:
            yield ("Run config may not set resources: the warehouse and the wave folders "
                   "come from the environment only.")
        return
    if name in ("range", "ranges"):  # a partition range names keys too
        for bounds in value if isinstance(value, list) else [value]:
            if isinstance(bounds, Mapping):
                for key in _strings([bounds.get("start"), bounds.get("end")]):
                    if not WAVE_ID.fullmatch(key):
                        yield _not_a_wave(key)
    if isinstance(value, Mapping):
        if value.get("key") in PARTITION_TAGS and isinstance(value.get("value"), str):
            if not WAVE_ID.fullmatch(value["value"]):
                yield _not_a_wave(value["value"])
        for key, item in value.items():
            yield from value_problems(key, item)
    elif isinstance(value, list):
        for item in value:
            yield from value_problems(name, item)


def _not_a_wave(key: str) -> str:
    shown = key if len(key) <= 80 else key[:77] + "..."
    return (f"{shown!r} is not a wave id (1-32 letters, digits, '_' or '-', starting with a letter "
            "or digit), so it cannot be a partition.")


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _authority(value: str) -> tuple[str, int] | None:
    """(host name, port) of a Host header or an origin's authority; None if it is anything else."""
    try:
        parts = urlsplit(f"http://{value}")
        port = parts.port or 80
    except ValueError:
        return None
    if (not parts.hostname or parts.username is not None or parts.password is not None
            or parts.path or parts.query or parts.fragment):
        return None
    return parts.hostname.lower(), port


def _is_graphql_path(path: str) -> bool:
    """``/graphql``, also under a path prefix, with trailing slashes, in any case."""
    return ("/" + path.strip("/")).lower().endswith("/graphql")


def _top_level_navigation(scope, headers) -> bool:
    """A link followed to one of the UI's pages: harmless, since no GET changes anything here."""
    return (scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
            and (_one(headers, "sec-fetch-mode") or "").lower() == "navigate"
            and (_one(headers, "sec-fetch-dest") or "").lower() == "document")


def _headers(scope) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", ()):
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


def _one(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise Refusal(400, f"The request carries more than one {name} header.")
    return values[0]


def _bare_host(host: str) -> str:
    host = host.strip().lower()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _replay(body: bytes, receive):
    """A receive channel that hands the app the body already read, then the client's own messages."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed():
        if pending:
            return pending.pop()
        return await receive()

    return replayed


def _framed_by_us_only(send):
    """Add ``X-Frame-Options: SAMEORIGIN``: another site may not frame the UI and steer clicks."""

    async def framed(message):
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"x-frame-options" for name, _ in headers):
                headers.append((b"x-frame-options", b"SAMEORIGIN"))
            message = {**message, "headers": headers}
        await send(message)

    return framed


async def _refuse(scope, send, refusal: Refusal) -> None:
    if scope["type"] == "websocket":
        # Closing before accepting makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    if refusal.status in (400, 403) and _is_graphql_path(scope.get("path", "")) and scope.get("method") == "POST":
        body = json.dumps({"data": None, "errors": [{"message": refusal.sentence}]}).encode()
        content_type = b"application/json"
    else:
        body = (refusal.sentence + "\n").encode()
        content_type = b"text/plain; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"x-frame-options", b"SAMEORIGIN")]
    if refusal.status == 405:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body if scope.get("method") != "HEAD" else b""})
