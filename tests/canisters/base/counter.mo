// Stable counter (moc 0.13 / mo:base): the `stable var` is serialized to stable
// memory in `canister_pre_upgrade` and restored in `canister_post_upgrade`.
actor Counter {
  stable var count : Nat = 0;

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
