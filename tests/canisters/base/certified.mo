// Certified-data canister (moc 0.13 / mo:base): `set` stores a blob as the
// canister's certified data (at most 32 bytes, longer blobs trap), `get_certificate`
// returns the data certificate (present in non-replicated queries only).
import CertifiedData "mo:base/CertifiedData";

actor Certified {
  stable var data : Blob = "";

  public func set(b : Blob) : async () {
    data := b;
    CertifiedData.set(b);
  };

  public query func get() : async Blob {
    data;
  };

  public query func get_certificate() : async ?Blob {
    CertifiedData.getCertificate();
  };
};
