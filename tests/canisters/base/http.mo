// HTTP-gateway canister (moc 0.13 / mo:base): `http_request` serves a small HTML page,
// `/hits` as plain text, 404 otherwise; POST asks for an upgrade to `http_request_update`,
// which counts hits. Types follow the HTTP gateway Candid interface (no streaming).
import Nat "mo:base/Nat";
import Text "mo:base/Text";

actor Http {
  type HeaderField = (Text, Text);

  type HttpRequest = {
    method : Text;
    url : Text;
    headers : [HeaderField];
    body : Blob;
    certificate_version : ?Nat16;
  };

  type HttpUpdateRequest = {
    method : Text;
    url : Text;
    headers : [HeaderField];
    body : Blob;
  };

  type HttpResponse = {
    status_code : Nat16;
    headers : [HeaderField];
    body : Blob;
    upgrade : ?Bool;
  };

  stable var hits : Nat = 0;

  func respond(status : Nat16, contentType : Text, body : Text) : HttpResponse {
    {
      status_code = status;
      headers = [("content-type", contentType), ("x-icbox-test", "http.mo")];
      body = Text.encodeUtf8(body);
      upgrade = null;
    };
  };

  public query func http_request(req : HttpRequest) : async HttpResponse {
    if (req.method == "POST") {
      return { status_code = 200; headers = []; body = ""; upgrade = ?true };
    };
    switch (req.url) {
      case ("/" or "/index.html") respond(200, "text/html; charset=utf-8", "<!doctype html><html><head><title>icbox</title></head><body><h1>Hello from icbox</h1></body></html>");
      case "/hits" respond(200, "text/plain; charset=utf-8", Nat.toText(hits));
      case _ respond(404, "text/plain; charset=utf-8", "not found: " # req.url);
    };
  };

  public func http_request_update(req : HttpUpdateRequest) : async HttpResponse {
    hits += 1;
    respond(200, "text/plain; charset=utf-8", req.method # " " # req.url # " hits=" # Nat.toText(hits));
  };
};
