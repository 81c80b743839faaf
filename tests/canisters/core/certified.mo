// Certified-data canister (moc 4.x / mo:core): `set` stores a blob as the
// canister's certified data (at most 32 bytes, longer blobs trap), `get_certificate`
// returns the data certificate (present in non-replicated queries only).
import CertifiedData "mo:core/CertifiedData";

persistent actor Certified {
  var data : Blob = "";

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
