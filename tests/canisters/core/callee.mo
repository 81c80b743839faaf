// Callee side of the inter-canister call tests (moc 4.x / mo:core).
// `echo` accepts half of the attached cycles; `fail` traps; `reject` rejects explicitly.
import Cycles "mo:core/Cycles";
import Error "mo:core/Error";
import Runtime "mo:core/Runtime";

persistent actor Callee {
  var received : Nat = 0;
  var calls : Nat = 0;

  public func echo(msg : Text) : async Text {
    let accepted = Cycles.accept<system>(Cycles.available() / 2);
    received += accepted;
    calls += 1;
    msg;
  };

  public func fail() : async () {
    calls += 1;
    Runtime.trap("callee: fail() traps");
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
