// Callee side of the inter-canister call tests (moc 0.13 / mo:base).
// `echo` accepts half of the attached cycles; `fail` traps; `reject` rejects explicitly.
import Cycles "mo:base/ExperimentalCycles";
import Debug "mo:base/Debug";
import Error "mo:base/Error";

actor Callee {
  stable var received : Nat = 0;
  stable var calls : Nat = 0;

  public func echo(msg : Text) : async Text {
    let accepted = Cycles.accept<system>(Cycles.available() / 2);
    received += accepted;
    calls += 1;
    msg;
  };

  public func fail() : async () {
    calls += 1;
    Debug.trap("callee: fail() traps");
  };

  public func reject() : async () {
    calls += 1;
    throw Error.reject("callee: reject() rejects");
  };

  public query func cycles_received() : async Nat {
    received;
  };

  public query func call_count() : async Nat {
    calls;
  };
};
