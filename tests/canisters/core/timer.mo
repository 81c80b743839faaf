// Global-timer canister (moc 4.x / mo:core): `start` arms a recurring timer and
// `once` a one-shot timer; each firing increments `ticks` (both go through
// `canister_global_timer` and `ic0.global_timer_set`).
import Timer "mo:core/Timer";

persistent actor TimerCanister {
  var ticks : Nat = 0;
  var recurring : ?Nat = null;

  func tick() : async () {
    ticks += 1;
  };

  public func start(seconds : Nat) : async Nat {
    switch recurring {
      case (?id) Timer.cancelTimer(id);
      case null {};
    };
    let id = Timer.recurringTimer<system>(#seconds seconds, tick);
    recurring := ?id;
    id;
  };

  public func once(seconds : Nat) : async Nat {
    Timer.setTimer<system>(#seconds seconds, tick);
  };

  public func stop() : async () {
    switch recurring {
      case (?id) Timer.cancelTimer(id);
      case null {};
    };
    recurring := null;
  };

  public query func get() : async Nat {
    ticks;
  };
};
