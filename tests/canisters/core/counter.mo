// Stable counter (moc 4.x / mo:core): the field survives upgrades through
// enhanced orthogonal persistence, because every `var` of a persistent actor is stable.
persistent actor Counter {
  var count : Nat = 0;

  public func inc() : async Nat {
    count += 1;
    count;
  };

  public query func get() : async Nat {
    count;
  };

  public func set(n : Nat) : async () {
    count := n;
  };
};
