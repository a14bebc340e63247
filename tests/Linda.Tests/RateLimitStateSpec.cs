using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>A queue's rate limit in the pure state, on a manual clock: a token bucket of reserves.</summary>
public sealed class RateLimitStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly JobQueueState _s = new("jobs", new QueueLimits { MaxReservesPerPeriod = 2, RatePeriod = TimeSpan.FromSeconds(1) });
    private long _token;

    public RateLimitStateSpec()
    {
        _s.Advance(T0);
        for (var i = 0; i < 10; i++)
            _s.Apply(_s.Push(new Push("jobs", JobPayload.Create("work")) { Id = $"j{i}", TimeToRun = TimeSpan.FromHours(1) }).Event!);
    }

    private void Reserve() => _s.Apply(_s.Reserve("w", ++_token).Event!);

    [Fact]
    public void At_most_the_limit_goes_at_once_and_the_next_reserve_is_due_when_the_bucket_allows_it()
    {
        Assert.True(_s.CanReserve);
        Reserve();
        Reserve();
        Assert.False(_s.CanReserve); // a burst of two, then the limit
        Assert.Equal(8, _s.ReadyCount);
        Assert.Equal(T0.AddMilliseconds(500), _s.NextDueAt); // the queue's timer serves waiting workers then

        _s.Advance(T0.AddMilliseconds(499));
        Assert.False(_s.CanReserve);
        _s.Advance(T0.AddMilliseconds(500));
        Assert.True(_s.CanReserve);
        Reserve();
        Assert.False(_s.CanReserve);
        Assert.Equal(T0.AddMilliseconds(1000), _s.NextDueAt);
    }

    [Fact]
    public void An_idle_bucket_fills_up_to_the_limit_and_no_further()
    {
        Reserve();
        Reserve();
        _s.Advance(T0.AddSeconds(60));
        Reserve();
        Reserve();
        Assert.False(_s.CanReserve); // a minute idle still allows only a burst of two
    }

    [Fact]
    public void A_replay_of_the_events_comes_to_the_same_bucket()
    {
        var events = new List<IEvent>();
        var live = new JobQueueState("jobs", new QueueLimits { MaxReservesPerPeriod = 3, RatePeriod = TimeSpan.FromSeconds(1) });
        live.Advance(T0);
        void Do(Decision d)
        {
            events.Add(d.Event!);
            live.Apply(d.Event!);
        }
        for (var i = 0; i < 20; i++)
            Do(live.Push(new Push("jobs", JobPayload.Create("work")) { Id = $"j{i}", TimeToRun = TimeSpan.FromHours(1) }));
        var t = T0;
        var token = 0L;
        for (var step = 0; step < 50; step++)
        {
            t = t.AddMilliseconds(37 * (step % 7));
            live.Advance(t);
            if (live.CanReserve)
                Do(live.Reserve("w", ++token));
        }
        var replayed = new JobQueueState("jobs", new QueueLimits { MaxReservesPerPeriod = 3, RatePeriod = TimeSpan.FromSeconds(1) });
        replayed.Advance(T0);
        foreach (var e in events)
            replayed.Apply(e);
        replayed.Advance(t);
        Assert.Equal(live.CanReserve, replayed.CanReserve);
        Assert.Equal(live.NextDueAt, replayed.NextDueAt);
    }

    [Fact]
    public void Without_a_limit_nothing_holds_reserves_back()
    {
        var s = new JobQueueState("jobs");
        s.Advance(T0);
        for (var i = 0; i < 100; i++)
            s.Apply(s.Push(new Push("jobs", JobPayload.Create("work"))).Event!);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(s.CanReserve);
            s.Apply(s.Reserve("w", i + 1).Event!);
        }
        Assert.Equal(T0.AddSeconds(60), s.NextDueAt); // only the leases' deadline
    }
}
