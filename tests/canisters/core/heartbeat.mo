// Heartbeat canister (moc 4.x / mo:core): `canister_heartbeat` increments `beats`.
persistent actor Heartbeat {
  var beats : Nat = 0;

  system func heartbeat() : async () {
    beats += 1;
  };

  public query func get() : async Nat {
    beats;
  };
};
