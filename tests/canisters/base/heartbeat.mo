// Heartbeat canister (moc 0.13 / mo:base): `canister_heartbeat` increments `beats`.
actor Heartbeat {
  stable var beats : Nat = 0;

  system func heartbeat() : async () {
    beats += 1;
  };

  public query func get() : async Nat {
    beats;
  };
};
