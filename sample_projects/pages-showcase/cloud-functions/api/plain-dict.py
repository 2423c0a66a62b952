# A platform quirk worth knowing: every dict a function returns is read as an envelope
# ({"statusCode", "headers", "body"}). Plain data such as the dict below gives 200 with an EMPTY
# body in production. funcstudio does the same and attaches the parity warning EO-DICT-ENVELOPE;
# with `quirks = "fixed"` in funcstudio.toml it sends the JSON instead.
#
#   curl -i http://127.0.0.1:8088/api/plain-dict


def handler(event, context):
    return {"user": "ada", "note": "you will not see this body on EdgeOne Pages"}
