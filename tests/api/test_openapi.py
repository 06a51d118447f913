"""GET /openapi.json (docs/architecture.md "OpenAPI document"): the OpenAPI 3.1 document the
server generates from its route table and resource specs.

- it is public, JSON, and valid: tests/openapi/validate.js runs @apidevtools/swagger-parser
  (pinned in tests/openapi/package-lock.json, installed with `npm ci` when missing);
- it covers the server: every known URL is in it, and every resource path in it is one the
  server answers (probed with the admin token);
- the schemas match what the server returns (a created namespace's keys, every object the
  admin can list).
"""

import fcntl
import json
import re
import shutil
import subprocess

import pytest

from kwtest import JSON_CT, KEYWARD_BIN, NOBODY, REPO, rand

OA_DIR = REPO / "tests" / "openapi"
PARSER_VERSION = "13.0.0"  # tests/openapi/package.json

# The rows of src/api/routes.c (but the resource tree) and the rest names of
# src/model/registry.c.
ROUTES = ["/issue", "/authn", "/oauth2/access_token", "/health", "/.well-known/jwks.json",
          "/openapi.json"]
RESOURCES = ["namespaces", "accounts", "apiauthorizations", "roles", "serviceaccounts",
             "appcredentials", "auditlogs", "ldapproviders", "oidcproviders"]
ERROR_CODES = [400, 401, 403, 404, 405, 409, 413, 414, 415, 417, 422, 429, 431, 500, 501, 503,
               505]
METHODS = ["get", "head", "post", "put", "delete"]


def _installed():
    pkg = OA_DIR / "node_modules" / "@apidevtools" / "swagger-parser" / "package.json"
    try:
        return json.loads(pkg.read_text())["version"] == PARSER_VERSION
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture(scope="module")
def validator():
    """npm ci from the committed lock file, only when the pinned package is missing.
    A lock on package.json keeps two test runs in one tree from installing at once."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the OpenAPI tests (scripts/deps.sh test)")
    with open(OA_DIR / "package.json", "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            if not _installed():
                r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=OA_DIR,
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=300)
                assert r.returncode == 0 and _installed(), "npm ci failed:\n%s%s" % (
                    r.stdout[-2000:], r.stderr[-2000:])
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

    def validate(path):
        return subprocess.run(["node", str(OA_DIR / "validate.js"), str(path)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)
    return validate


@pytest.fixture(scope="module")
def doc(server):
    r = server.client().get("/openapi.json", ns=None)
    assert r.status == 200, r
    return r.data


def test_public_json(server):
    c = server.client()  # no token
    r = c.get("/openapi.json", ns=None)
    assert r.status == 200, r
    assert r.ctype == JSON_CT
    assert r.data["openapi"].startswith("3.1")
    again = c.get("/v/1/openapi.json", ns=None)
    assert again.status == 200 and again.content == r.content  # built once, cached
    h = c.head("/openapi.json", ns=None)
    assert h.status == 200 and h.content == b""
    assert int(h.headers["Content-Length"]) == len(r.content)
    assert c.post("/openapi.json", {}, ns=None).status == 405


def test_valid(doc, validator, tmp_path):
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(doc))
    r = validator(path)
    assert r.returncode == 0, "swagger-parser: %s%s" % (r.stdout, r.stderr)
    assert "valid" in r.stdout


def test_validator_rejects(doc, validator, tmp_path):
    """The check above can fail: broken documents are refused."""
    def broken(change):
        bad = json.loads(json.dumps(doc))
        change(bad)
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        r = validator(path)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "invalid" in r.stderr

    broken(lambda d: d.pop("info"))
    broken(lambda d: d["paths"]["/namespaces/{id}"]["get"]["parameters"].append(
        {"name": "nope", "in": "body", "schema": {"type": "string"}}))
    broken(lambda d: d["components"]["schemas"].pop("Error"))  # a dangling $ref


def test_info(doc, server):
    out = subprocess.run([str(KEYWARD_BIN), "version"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=30).stdout.split()
    assert doc["info"]["version"] == out[-1], "openapi.h KW_VERSION differs from main.c"
    assert doc["servers"][0]["url"].startswith("https://")
    sch = doc["components"]["securitySchemes"]["bearer"]
    assert (sch["type"], sch["scheme"], sch["bearerFormat"]) == ("http", "bearer", "JWT")


def test_routes(doc):
    paths = doc["paths"]
    for p in ROUTES:
        assert p in paths, p
    assert "/*" not in paths
    assert set(paths["/issue"]) == {"post"}
    assert paths["/issue"]["post"]["security"] == []
    assert set(paths["/health"]) == {"get", "head"}
    assert "application/x-www-form-urlencoded" in paths["/oauth2/access_token"]["post"][
        "requestBody"]["content"] or "*/*" in paths["/oauth2/access_token"]["post"][
        "requestBody"]["content"]
    assert set(paths["/issue"]["post"]["requestBody"]["content"]) == {
        "application/json", "application/msgpack"}
    assert set(paths["/openapi.json"]["get"]["responses"]["200"]["content"]) == {
        "application/json"}


def test_resources(doc):
    paths = doc["paths"]
    for rest in RESOURCES:
        assert "/" + rest in paths, rest
        assert {"get", "head"} <= set(paths["/" + rest]), rest
        assert {"get", "head"} <= set(paths["/%s/{id}" % rest]), rest
    for rest in RESOURCES:
        if rest in ("roles", "auditlogs"):
            continue
        assert "post" in paths["/" + rest]
        assert {"put", "delete"} <= set(paths["/%s/{id}" % rest])
    for rest in ("roles", "auditlogs"):
        assert "post" not in paths["/" + rest]
        assert not {"put", "delete"} & set(paths["/%s/{id}" % rest])
    assert "post" in paths["/serviceaccounts/{id}/secrets"]
    assert "get" in paths["/namespaces/{id}/accounts"]

    ns_list = paths["/namespaces"]["get"]
    names = {p["name"] for p in ns_list["parameters"]}
    assert {"page", "pageSize", "limit", "after", "order", "q", "recursive",
            "X-Fields"} <= names
    item = {p["name"]: p for p in paths["/namespaces"]["parameters"]}
    assert item["X-Namespace"]["in"] == "header" and item["X-Namespace"]["required"]
    assert ns_list["security"] == [{"bearer": []}]
    assert "X-Count-Total" in paths["/namespaces"]["head"]["responses"]["204"]["headers"]
    for op in (paths["/namespaces"]["post"], paths["/namespaces/{id}"]["put"]):
        assert "Idempotency-Key" in {p["name"] for p in op["parameters"]}
    assert "409" in paths["/namespaces/{id}"]["put"]["responses"]
    # roles live outside the namespace tree, yet X-Namespace is required as everywhere
    # (API.md 4); their list pages, nothing more
    assert "X-Namespace" in {p["name"] for p in paths["/roles"].get("parameters", [])}
    roles = {p["name"] for p in paths["/roles"]["get"].get("parameters", [])}
    assert {"page", "pageSize"} <= roles and not roles & {"q", "order", "recursive"}


def test_errors(doc):
    comp = doc["components"]
    err = comp["schemas"]["Error"]
    assert set(err["properties"]) == {"code", "title", "description", "subject", "data",
                                      "trace"}
    assert comp["schemas"]["ErrorList"]["items"] == {"$ref": "#/components/schemas/Error"}
    for code in ERROR_CODES:
        r = comp["responses"]["E%d" % code]
        assert r["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorList"}
    assert "Validation Error" in comp["responses"]["E422"]["description"]
    used = set()
    for item in doc["paths"].values():
        for m in METHODS:
            for code, r in item.get(m, {}).get("responses", {}).items():
                if "$ref" in r:
                    used.add(int(code))
    # 405 answers a method the document does not list for a URL: no operation has it
    assert used == set(ERROR_CODES) - {405}


def test_schemas(doc):
    s = doc["components"]["schemas"]
    ns = s["namespace"]["properties"]
    assert ns["createTime"] == {"type": "string", "format": "date-time", "readOnly": True,
                                "x-filterable": ["q", "order"],
                                "description": "creation time"}
    assert ns["name"]["pattern"] == "^[a-zA-Z0-9_-]+$" and ns["name"]["maxLength"] == 256
    assert ns["protected"]["default"] is False
    assert ns["associatedTags"]["type"] == "array"
    assert ns["associatedTags"]["items"]["type"] == "string"
    assert ns["annotations"]["additionalProperties"] == {"type": "array",
                                                         "items": {"type": "string"}}
    assert "name" in s["namespace"]["required"]
    sub = s["apiauthorization"]["properties"]["subject"]
    assert sub["type"] == "array" and sub["items"]["type"] == "array"
    pw = s["account"]["properties"]["password"]
    assert pw["writeOnly"] is True and "password" in s["account"]["required"]
    assert "enum" in s["ldapprovider"]["properties"]["connSecurityProtocol"]
    assert "secretHash" not in s["serviceaccount"]["properties"]  # server-internal


def _unknown_path(r):
    return r.status == 404 and isinstance(r.data, list) and \
        r.data[0]["description"] == "Unknown API path"


def test_every_resource_path_is_served(doc, admin):
    """Every resource path in the document is one the server answers: the collection
    with GET, an object URL with GET (404 for a missing object, not an unknown path)."""
    missing = "0" * 24
    probed = 0
    for path, item in doc["paths"].items():
        if not path.startswith("/") or path in ROUTES:
            continue
        url = path.replace("{id}", missing)
        for m in METHODS:
            if m not in item:
                continue
            # an attribute no resource has: every write is refused (422), none is made
            body = {"noSuchAttribute": 1} if m in ("post", "put") else NOBODY
            r = admin.request(m.upper(), url, body, ns="/")
            assert not _unknown_path(r), (m, path, r)
            assert r.status != 405, (m, path, r)
            probed += 1
            if path.endswith("/ocsp") and m == "post":
                # an OCSP request is a query: any CA, known or not, gets an OCSP response
                # (unauthorized here, RFC 6960 2.3), never a write
                assert r.status == 200 and r.ctype == "application/ocsp-response", r
                continue
            if m in ("post", "put", "delete") and r.status == 200:
                pytest.fail("a probe wrote something: %s %s %r" % (m, path, r))
    assert probed > 3 * len(RESOURCES)
    # and what is not in the document is not served
    assert _unknown_path(admin.get("/nosuchthings", ns="/"))


def test_schema_matches_created_object(doc, admin):
    props = doc["components"]["schemas"]["namespace"]["properties"]
    obj = admin.mkns("/", "oa-" + rand(8))
    assert set(obj) <= set(props), set(obj) - set(props)
    assert not any(props[k].get("writeOnly") for k in obj)
    # what the answer leaves out is only what the server maintains and has not set
    absent = {k for k, v in props.items() if not v.get("writeOnly")} - set(obj)
    assert all(props[k].get("readOnly") for k in absent), absent
    # every object of every resource the admin can list fits its schema's properties
    for rest in RESOURCES:
        r = admin.get("/" + rest, ns="/", params=None if rest == "roles" else
                      {"recursive": "true"})
        assert r.status == 200, r
        ident = rest[:-1]
        props = doc["components"]["schemas"][ident]["properties"]
        for o in r.data:
            assert o["object"] == ident
            assert set(o) <= set(props), (rest, set(o) - set(props))
    admin.delete("/namespaces/" + obj["ID"], ns="/")


def test_operation_ids_unique(doc):
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items()
           if m in METHODS]
    assert len(ids) == len(set(ids))
    assert all(re.match(r"^[A-Za-z0-9_.-]+$", i) for i in ids)
