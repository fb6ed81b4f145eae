"""Who is calling and what they may do: SigV4 verification, the identity store, AWS's policy evaluation,
the authorization of the Lambda API, and the audit trail."""
