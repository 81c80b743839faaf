// Rollback canister (moc 4.x / mo:core): methods that write state and then trap,
// next to one that writes and succeeds; every method logs with Debug.print.
import Debug "mo:core/Debug";
import Nat "mo:core/Nat";
import Runtime "mo:core/Runtime";

persistent actor Trap {
  var value : Nat = 0;

  func noop() : async () {};

  // Writes and succeeds.
  public func set(n : Nat) : async () {
    value := n;
    Debug.print("trap: set " # Nat.toText(n));
  };

  // Writes, then traps explicitly: the write must be rolled back.
  public func set_then_trap(n : Nat) : async () {
    value := n;
    Debug.print("trap: set_then_trap " # Nat.toText(n));
    Runtime.trap("set_then_trap: explicit trap");
  };

  // Writes, then fails an assertion: the write must be rolled back.
  public func set_then_assert(n : Nat) : async () {
    value := n;
    Debug.print("trap: set_then_assert " # Nat.toText(n));
    assert false;
  };

  // Writes n, awaits a self-call (commit point), writes n + 1, then traps:
  // the first write survives, the second is rolled back.
  public func set_await_trap(n : Nat) : async () {
    value := n;
    await noop();
    value := n + 1;
    Debug.print("trap: set_await_trap " # Nat.toText(n));
    Runtime.trap("set_await_trap: trap after await");
  };

  public query func get() : async Nat {
    value;
  };
};
