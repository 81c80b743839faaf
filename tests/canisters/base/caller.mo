// Caller side of the inter-canister call tests (moc 0.13 / mo:base): the callee's
// principal is an argument, cycles are attached with `Cycles.add<system>(n)`
// before the call (moc 0.13 has no `(with cycles = n)`).
import Cycles "mo:base/ExperimentalCycles";
import Error "mo:base/Error";
import Principal "mo:base/Principal";

actor Caller {
  type Callee = actor {
    echo : (Text) -> async Text;
    fail : () -> async ();
    reject : () -> async ();
  };

  stable var lastRefund : Nat = 0;

  // Calls `callee.echo(msg)` with `cycles` attached; returns the reply and the refund.
  public func call_echo(callee : Principal, msg : Text, cycles : Nat) : async (Text, Nat) {
    let c : Callee = actor (Principal.toText(callee));
    Cycles.add<system>(cycles);
    let reply = await c.echo(msg);
    lastRefund := Cycles.refunded();
    (reply, lastRefund);
  };

  // Calls `callee.fail()` (a trap in the callee); returns the reject code and message.
  public func call_fail(callee : Principal) : async Text {
    let c : Callee = actor (Principal.toText(callee));
    try {
      await c.fail();
      "replied";
    } catch (e) {
      debug_show (Error.code(e)) # ": " # Error.message(e);
    };
  };

  // Calls `callee.reject()` (an explicit reject); returns the reject code and message.
  public func call_reject(callee : Principal) : async Text {
    let c : Callee = actor (Principal.toText(callee));
    try {
      await c.reject();
      "replied";
    } catch (e) {
      debug_show (Error.code(e)) # ": " # Error.message(e);
    };
  };

  public query func last_refund() : async Nat {
    lastRefund;
  };

  public query func balance() : async Nat {
    Cycles.balance();
  };
};
