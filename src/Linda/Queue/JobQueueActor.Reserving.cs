using Akka.Actor;
using Akka.Event;
using static Linda.JobQueue;

namespace Linda;

// Reserving: reserves served at once or waiting, leases handed out (durable or early), lost leases forgotten.
public sealed partial class JobQueueActor
{
    private void OnReserve(Reserve m)
    {
        if (_state.CheckWait(m.Wait) is { } invalid)
        {
            Answer(invalid);
            return;
        }
        if (_holders.CannotHold(Sender))
        {
            Answer(new Rejected(RejectReason.NoHolder, "a reserve needs a sender to hold the lease"));
            return;
        }
        var holder = _holders.Of(Sender);
        if (m.Pull != 0)
        {
            if (m.Pull < holder.LastPull)
                return; // stale: the sender has sent a newer reserve, which gets the answer
            holder.LastPull = m.Pull;
            _waiting.Drop(Sender); // older reserves of this sender: the new one replaces them
        }
        if (m.HoldsNone)
            ForgetLostLeases(holder, m.Pull);
        if (_waiting.Count == 0 && _state.CanReserve)
        {
            ReserveFor(Sender, m.Pull);
            return;
        }
        if (m.Wait == TimeSpan.Zero)
        {
            Answer(ReserveTimedOut.Instance);
            return;
        }
        _waiting.Add(Sender, _state.Now + m.Wait, m.Pull);
    }

    /// <summary>
    /// A holder that says it holds no job: leases still on record for it that were handed out for an
    /// earlier reserve (or by an earlier run of the queue) never reached it.
    /// </summary>
    private void ForgetLostLeases(LeaseHolders.Holder holder, long pull)
    {
        var leases = _state.LeasesOf(holder.Path);
        foreach (var (jobId, token) in leases)
        {
            if (pull != 0 && holder.Pulls.GetValueOrDefault(jobId) >= pull)
                continue;
            _log.Info("queue {0}: {1} asks for a job without a verdict on {2}; its lease was lost on the way, the job goes back to Ready", _queue, holder.Path, jobId);
            if (_state.LoseLease(jobId, token, "the lease never reached its holder") is { } evt)
                Apply(evt);
        }
        // Keep the reserve numbers of the leases it still holds only.
        if (holder.Pulls.Count > 0)
        {
            foreach (var jobId in holder.Pulls.Keys.ToArray())
            {
                if (!_state.IsLeasedTo(jobId, holder.Path))
                    holder.Pulls.Remove(jobId);
            }
        }
    }

    private void OnReserveJob(ReserveJob m)
    {
        if (_holders.CannotHold(Sender))
        {
            Answer(new Rejected(RejectReason.NoHolder, "a reserve needs a sender to hold the lease"));
            return;
        }
        var decision = _state.ReserveJob(m, _holders.Of(Sender).Path, NewToken());
        if (decision.Event is null)
            Answer(decision.Reply);
        else
            HandOut(Sender, decision, 0);
    }

    /// <summary>Answers the sender's waiting reserves as timed out, then the cancel itself.</summary>
    private void OnCancelReserve()
    {
        for (var n = _waiting.Drop(Sender); n > 0; n--)
            Answer(ReserveTimedOut.Instance);
        Answer(ReserveTimedOut.Instance);
    }

    private static long NewToken()
    {
        long token;
        do token = Random.Shared.NextInt64(); while (token == 0);
        return token;
    }

    private void ReserveFor(IActorRef holderRef, long pull)
    {
        var reserved = _state.Reserve(_holders.Of(holderRef).Path, NewToken());
        HandOut(holderRef, reserved, pull);
    }

    /// <summary>Hands out the lease <paramref name="reserved"/> decided (a <see cref="JobReserved"/>), durable or early.</summary>
    private void HandOut(IActorRef holderRef, Decision reserved, long pull)
    {
        var evt = (JobReserved)reserved.Event!;
        var reply = ((Reserved)reserved.Reply) with { Pull = pull };
        if (pull != 0)
            _holders.Of(holderRef).Pulls[evt.JobId] = pull;
        if (_settings.LeaseReply == LeaseReply.Durable || (_settings.LeaseReply == LeaseReply.Auto && !holderRef.Path.Address.HasLocalScope))
        {
            // The lease is handed out once its JobReserved is in the journal: a queue that moves to
            // another node after a crash knows every lease it gave to a node that survived.
            Apply(evt);
            _writes.ReplyWithLastEvent(holderRef, reply);
            return;
        }
        // Early: handed out once the job's earlier events are in the journal (its push above all),
        // without waiting for its own event, which follows; the holder runs the job meanwhile. If the
        // queue's node dies before that write, the lease is forgotten, the job is Ready after recovery
        // and the old token is refused; with Auto that only happens to holders on the queue's own node,
        // which died with it.
        if (!_writes.ReplyAfterJob(evt.JobId, holderRef, reply))
            holderRef.Tell(reply, Self);
        Apply(evt);
    }

    /// <summary>Hands ready jobs to waiting reservers, oldest first, and times out those whose wait is over.</summary>
    private void ServeWaiters()
    {
        while (_state.CanReserve && _waiting.TryTakeOldest(out var holder, out var pull))
            ReserveFor(holder, pull);
        while (_waiting.TryTakeExpired(_state.Now, out var holder))
            Send(holder, ReserveTimedOut.Instance);
    }
}
