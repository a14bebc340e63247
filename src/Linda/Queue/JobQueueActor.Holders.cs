using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using static Linda.JobQueue;

namespace Linda;

// Lease holders (DeathWatch, cluster membership) and the one timer.
public sealed partial class JobQueueActor
{
    private void WatchRecoveredHolder(string path)
    {
        switch (_holders.Recovered(path))
        {
            case null:
                _log.Warning("queue {0}: can't resolve lease holder {1}; its leases end at their deadline", _queue, path);
                break;
            case { NodeGone: true } recovered:
                Self.Tell(new NodeGone(recovered.Actor.Path.Address));
                break;
        }
    }

    /// <summary>A recovered holder's node is no longer in the cluster: handled as a command, after recovery.</summary>
    private sealed record NodeGone(Address Address);

    private void HolderGone(IActorRef actor, string why)
    {
        if (_holders.Remove(actor) is not { } holder)
            return;
        _waiting.Drop(actor);
        var leases = _state.LeasesOf(holder.Path);
        if (leases.Count > 0)
            _log.Info("queue {0}: lease holder {1} {2} holding {3} jobs; they go back to Ready", _queue, holder.Path, why, leases.Count);
        foreach (var (jobId, token) in leases)
        {
            if (_state.LoseLease(jobId, token, $"lease holder {actor.Path} {why}") is { } evt)
                Apply(evt);
        }
    }

    /// <summary>
    /// In a cluster, a holder's node that is removed takes its leases with it. DeathWatch says so too,
    /// but not for a node that was removed before it was watched (a queue that recovered after its old
    /// node crashed may learn of holders on a node that is already gone: nothing would ever answer).
    /// </summary>
    private void OnNodeRemoved(Address address)
    {
        foreach (var actor in _holders.OnNode(address))
            HolderGone(actor, $"was on node {address}, which left the cluster");
    }



    private DateTimeOffset Clock() => _time.GetUtcNow();

    private void ScheduleTimer()
    {
        var next = _state.NextDueAt;
        if (_waiting.NextTimeout is { } expires && (next is null || expires < next))
            next = expires;
        if (next == _timerDue)
            return;
        _timerDue = next;
        if (next is null)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var delay = next.Value - Clock();
        if (delay < TimeSpan.Zero)
            delay = TimeSpan.Zero;
        if (_timer is null)
        {
            var self = Self;
            _timer = _time.CreateTimer(_ => self.Tell(Tick.Instance, ActorRefs.NoSender), null, delay, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        base.PreStart();
        _holders.Cluster?.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _timer?.Dispose();
        _telemetry.Dispose();
        _holders.Cluster?.Unsubscribe(Self);
        base.PostStop();
    }
}
