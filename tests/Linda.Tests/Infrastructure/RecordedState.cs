using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A pure queue state that keeps every event it applies, so a spec can check at any point that
/// replaying them on a new state, and restoring the state's snapshot, come to the same state.
/// </summary>
internal sealed class RecordedState
{
    private readonly List<IEvent> _events = [];
    private readonly DateTimeOffset _start;
    private readonly QueueLimits? _limits;

    public RecordedState(DateTimeOffset start, QueueLimits? limits = null)
    {
        (_start, _limits) = (start, limits);
        State = new JobQueueState("jobs", limits);
        State.Advance(start);
    }

    public JobQueueState State { get; }

    /// <summary>The events applied so far.</summary>
    public IReadOnlyList<IEvent> Events => _events;

    /// <summary>Applies a decision's event (if any) and returns its reply.</summary>
    public IReply Do(Decision d)
    {
        if (d.Event is { } e)
            Apply(e);
        return d.Reply;
    }

    /// <summary>Applies a decision that must make an event.</summary>
    public void Accept(Decision d)
    {
        Assert.True(d.Event is not null, $"refused: {d.Reply}");
        Apply(d.Event!);
    }

    private void Apply(IEvent e)
    {
        _events.Add(e);
        State.Apply(e);
    }

    /// <summary>Replaying the events on a new state, and restoring the snapshot, give this state (and the same next due time and reserve readiness).</summary>
    public void AssertReplayAndSnapshotAgree()
    {
        var replayed = new JobQueueState("jobs", _limits);
        replayed.Advance(_start);
        foreach (var e in _events)
            replayed.Apply(e);
        replayed.Advance(State.Now);
        Assert.True(replayed.ToSnapshot().SameAs(State.ToSnapshot()), "replaying the events gives the same state");
        var restored = JobQueueState.FromSnapshot(State.ToSnapshot(), _limits);
        Assert.True(restored.ToSnapshot().SameAs(State.ToSnapshot()), "restoring the snapshot gives the same state");
        Assert.Equal((State.NextDueAt, State.ReadyCount, State.CanReserve), (replayed.NextDueAt, replayed.ReadyCount, replayed.CanReserve));
        Assert.Equal((State.ReadyCount, State.CanReserve, State.PeekReady()?.Job.Id), (restored.ReadyCount, restored.CanReserve, restored.PeekReady()?.Job.Id));
    }
}
