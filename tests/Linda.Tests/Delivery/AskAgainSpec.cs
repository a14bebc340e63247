using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests.Delivery;

/// <summary>
/// <see cref="AskAgain"/> on a <see cref="ManualClock"/>: the spec moves time itself, in small steps,
/// and records the clock's time of every attempt. After each step that ends a pause it waits (on
/// signals, never a sleep) for the attempt that follows and for the policy to settle: done, or its next
/// pause armed. So each attempt's time is exactly the clock's time when its pause ended.
/// </summary>
public sealed class AskAgainSpec
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    /// <summary>A short policy whose whole schedule fits in a second: 0, 20, 60, 140, 300, 460, 620, 780, 940 ms.</summary>
    private static readonly AskAgain Short = new()
    {
        FirstPause = TimeSpan.FromMilliseconds(20),
        MaxPause = TimeSpan.FromMilliseconds(160),
        GiveUpAfter = TimeSpan.FromSeconds(1),
    };

    private static readonly long[] ShortSchedule = [0, 20, 60, 140, 300, 460, 620, 780, 940];

    private readonly DrivenClock _clock = new();
    private readonly Signal _attempted = new();
    private readonly object _lock = new();
    private readonly List<DateTimeOffset> _times = [];
    private readonly List<CancellationToken> _tokens = [];

    // ================================================================ helpers

    /// <summary>
    /// A ManualClock that says when a timer is armed and when one fires, so the spec knows whether a step
    /// ended a pause and when the policy waits again.
    /// </summary>
    private sealed class DrivenClock : TimeProvider
    {
        private readonly ManualClock _inner = new();
        private int _fired;

        public DateTimeOffset Start { get; }

        public DrivenClock() => Start = _inner.GetUtcNow();

        public Signal Armed { get; } = new();

        public int Fired => Volatile.Read(ref _fired);

        public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

        public void Advance(TimeSpan by) => _inner.Advance(by);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = _inner.CreateTimer(s =>
            {
                Interlocked.Increment(ref _fired);
                callback(s);
            }, state, dueTime, period);
            Armed.Raise();
            return timer;
        }
    }

    /// <summary>A count that only goes up, and a way to wait for it to pass a value.</summary>
    private sealed class Signal
    {
        private readonly object _lock = new();
        private int _count;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count
        {
            get
            {
                lock (_lock)
                    return _count;
            }
        }

        public Task Changed
        {
            get
            {
                lock (_lock)
                    return _changed.Task;
            }
        }

        public void Raise()
        {
            TaskCompletionSource changed;
            lock (_lock)
            {
                _count++;
                changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            changed.TrySetResult();
        }

        public async Task Beyond(int count, string what)
        {
            while (true)
            {
                Task changed;
                lock (_lock)
                {
                    if (_count > count)
                        return;
                    changed = _changed.Task;
                }
                try
                {
                    await changed.WaitAsync(Bound).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    throw new TimeoutException($"waited {Bound.TotalSeconds} s for {what}");
                }
            }
        }
    }

    private int Attempts
    {
        get
        {
            lock (_lock)
                return _times.Count;
        }
    }

    /// <summary>The attempts' times, in ms after the start.</summary>
    private long[] AttemptTimes()
    {
        lock (_lock)
            return _times.Select(t => (long)(t - _clock.Start).TotalMilliseconds).ToArray();
    }

    /// <summary>Starts asking; attempt n (from 0) answers <paramref name="reply"/>(n), recording the clock's time and signalling.</summary>
    private Task<IReply?> Ask(AskAgain policy, Func<int, IReply?> reply, bool retryWithoutAnswer = false, CancellationToken cancel = default) =>
        policy.AskAsync(token =>
        {
            int n;
            lock (_lock)
            {
                n = _times.Count;
                _times.Add(_clock.GetUtcNow());
                _tokens.Add(token);
            }
            try
            {
                return Task.FromResult(reply(n));
            }
            finally
            {
                _attempted.Raise();
            }
        }, _clock, cancel, retryWithoutAnswer);

    /// <summary>True when the policy is done or waits in a pause that has not ended.</summary>
    private bool Settled(Task task) => task.IsCompleted || _clock.Armed.Count > _clock.Fired;

    private async Task Settle(Task task)
    {
        while (!Settled(task))
            await Task.WhenAny(task, _clock.Armed.Changed).WaitAsync(Bound);
    }

    /// <summary>
    /// Moves the clock in steps of <paramref name="step"/> until <paramref name="task"/> completes (at most
    /// <paramref name="maxSteps"/> steps); after a step that ends a pause, waits for the next attempt.
    /// </summary>
    private async Task<TResult> Drive<TResult>(Task<TResult> task, TimeSpan step, int maxSteps)
    {
        for (var i = 0; i < maxSteps; i++)
        {
            await Settle(task);
            if (task.IsCompleted)
                return await task;
            var (attempts, fired) = (_attempted.Count, _clock.Fired);
            _clock.Advance(step);
            if (_clock.Fired > fired)
                await Task.WhenAny(task, _attempted.Beyond(attempts, "the attempt after a pause")).WaitAsync(Bound);
        }
        Assert.Fail($"still asking after {maxSteps} steps of {step.TotalMilliseconds} ms; attempts at {string.Join(", ", AttemptTimes())} ms");
        throw new InvalidOperationException("not reached");
    }

    private static Unavailable Moving(int n) => new($"moving ({n})");

    // ================================================================ the defaults

    [Fact]
    public void The_defaults_are_20_ms_doubling_to_500_ms_for_60_s()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(20), AskAgain.Default.FirstPause);
        Assert.Equal(TimeSpan.FromMilliseconds(500), AskAgain.Default.MaxPause);
        Assert.Equal(TimeSpan.FromSeconds(60), AskAgain.Default.GiveUpAfter);
        Assert.Equal(new AskAgain(), AskAgain.Default);
    }

    // ================================================================ answers

    public static TheoryData<IReply> Answers => new()
    {
        new Pushed("1", JobState.Ready) { Seq = 1 },
        new NotFound("x"),
        new Rejected(RejectReason.InvalidDelay, "no"),
        new WriteFailed("disk"),
        ReserveTimedOut.Instance,
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task A_reply_that_is_not_Unavailable_returns_at_once(IReply answer)
    {
        var task = Ask(Short, _ => answer);
        Assert.True(task.IsCompleted, "the policy waited after an answer");
        Assert.Same(answer, await task);
        Assert.Equal([0L], AttemptTimes());
        Assert.Equal(0, _clock.Armed.Count); // no pause was ever started
    }

    [Fact]
    public async Task An_answer_after_some_Unavailable_is_returned_and_ends_the_asking()
    {
        var done = new Completed("7", null);
        var task = Ask(Short, n => n < 3 ? Moving(n) : done);
        Assert.Same(done, await Drive(task, Ms * 5, 1000));
        Assert.Equal([0L, 20, 60, 140], AttemptTimes());

        // Nothing more, however long the clock runs.
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(4, Attempts);
    }

    // ================================================================ the pauses

    [Fact]
    public async Task Unavailable_is_asked_again_after_FirstPause_then_after_doubling_pauses_up_to_MaxPause()
    {
        var task = Ask(Short, Moving);
        await Drive(task, Ms * 5, 1000);
        var times = AttemptTimes();
        Assert.Equal(ShortSchedule, times);
        var pauses = times.Zip(times.Skip(1), (a, b) => b - a).ToArray();
        Assert.Equal([20L, 40, 80, 160, 160, 160, 160, 160], pauses);
    }

    [Fact]
    public async Task The_default_policy_doubles_from_20_ms_to_500_ms()
    {
        var task = Ask(AskAgain.Default, n => n < 9 ? Moving(n) : new Deleted("x"));
        Assert.Equal(new Deleted("x"), await Drive(task, Ms * 10, 10_000));
        // Pauses of 20, 40, 80, 160, 320, then 500 (not 640), 500, 500, 500.
        Assert.Equal([0L, 20, 60, 140, 300, 620, 1120, 1620, 2120, 2620], AttemptTimes());
    }

    [Fact]
    public async Task A_pause_is_not_cut_short()
    {
        var task = Ask(Short, n => n == 0 ? Moving(n) : new Deleted("x"));
        await Settle(task);
        _clock.Advance(Ms * 19);
        Assert.Equal(1, Attempts);
        Assert.False(task.IsCompleted);
        Assert.Equal(new Deleted("x"), await Drive(task, Ms, 10));
        Assert.Equal([0L, 20], AttemptTimes());
    }

    [Fact]
    public async Task A_clock_that_jumps_past_several_pauses_makes_one_attempt_per_pause_ended()
    {
        var task = Ask(Short, n => n < 2 ? Moving(n) : new Deleted("x"));
        // One step of 100 ms ends the first pause only: the next pause starts from the time of that attempt.
        Assert.Equal(new Deleted("x"), await Drive(task, Ms * 100, 10));
        Assert.Equal([0L, 100, 200], AttemptTimes());
    }

    // ================================================================ giving up

    [Fact]
    public async Task It_gives_up_after_GiveUpAfter_and_returns_the_last_Unavailable()
    {
        var replies = new List<Unavailable>();
        var task = Ask(Short, n =>
        {
            var reply = Moving(n);
            lock (replies)
                replies.Add(reply);
            return reply;
        });
        var last = await Drive(task, Ms * 5, 1000);
        Assert.Same(replies[^1], last);
        Assert.Equal(ShortSchedule.Length, replies.Count);
        // The last attempt was before the time was up; the one after it would have been at 1100 ms, past it.
        Assert.True(AttemptTimes()[^1] < Short.GiveUpAfter.TotalMilliseconds);
        Assert.True(AttemptTimes()[^1] + Short.MaxPause.TotalMilliseconds >= Short.GiveUpAfter.TotalMilliseconds);
        Assert.Equal(_clock.Armed.Count, _clock.Fired); // no pause left waiting

        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(ShortSchedule.Length, Attempts);
    }

    [Fact]
    public async Task A_GiveUpAfter_shorter_than_the_first_pause_asks_once()
    {
        var once = Short with { GiveUpAfter = TimeSpan.FromMilliseconds(20) };
        var moving = Moving(0);
        var task = Ask(once, _ => moving);
        Assert.True(task.IsCompleted);
        Assert.Same(moving, await task);
        Assert.Equal(1, Attempts);
        Assert.Equal(0, _clock.Armed.Count);
    }

    [Fact]
    public async Task The_time_is_counted_from_the_first_attempt_not_from_the_clocks_start()
    {
        _clock.Advance(TimeSpan.FromHours(1));
        var task = Ask(Short, Moving);
        await Drive(task, Ms * 5, 1000);
        Assert.Equal(ShortSchedule.Select(t => t + 3_600_000).ToArray(), AttemptTimes());
    }

    // ================================================================ no answer

    [Fact]
    public async Task No_answer_is_returned_as_it_is()
    {
        var task = Ask(Short, _ => null);
        Assert.True(task.IsCompleted);
        Assert.Null(await task);
        Assert.Equal(1, Attempts);
        Assert.Equal(0, _clock.Armed.Count);
    }

    [Fact]
    public async Task No_answer_is_asked_again_with_retryWithoutAnswer()
    {
        var done = new Released("1", JobState.Ready);
        var task = Ask(Short, n => n switch
        {
            0 => null,
            1 => Moving(n),
            2 => null,
            _ => done,
        }, retryWithoutAnswer: true);
        Assert.Same(done, await Drive(task, Ms * 5, 1000));
        Assert.Equal([0L, 20, 60, 140], AttemptTimes());
    }

    [Fact]
    public async Task With_retryWithoutAnswer_a_last_attempt_without_answer_gives_up_with_null()
    {
        // Attempts 0, 2, 4, 6 and 8 (the last, at 940 ms) get no answer; 1, 3, 5 and 7 Unavailable.
        var task = Ask(Short, n => n % 2 == 0 ? null : Moving(n), retryWithoutAnswer: true);
        Assert.Null(await Drive(task, Ms * 5, 1000));
        Assert.Equal(ShortSchedule, AttemptTimes());
    }

    // ================================================================ exceptions and cancellation

    [Fact]
    public async Task An_exception_of_the_first_attempt_propagates()
    {
        var boom = new InvalidOperationException("boom");
        var task = Ask(Short, _ => throw boom);
        Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => task));
        Assert.Equal(1, Attempts);
        Assert.Equal(0, _clock.Armed.Count);
    }

    [Fact]
    public async Task An_exception_of_a_later_attempt_propagates_and_ends_the_asking()
    {
        var boom = new TimeoutException("no hub");
        var task = Ask(Short, n => n < 2 ? Moving(n) : throw boom);
        var thrown = await Assert.ThrowsAsync<TimeoutException>(() => Drive(task, Ms * 5, 1000));
        Assert.Same(boom, thrown);
        Assert.Equal([0L, 20, 60], AttemptTimes());
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(3, Attempts);
    }

    [Fact]
    public async Task Every_attempt_gets_the_callers_cancellation_token()
    {
        using var cancel = new CancellationTokenSource();
        var task = Ask(Short, n => n < 2 ? Moving(n) : new Deleted("x"), cancel: cancel.Token);
        await Drive(task, Ms * 5, 1000);
        lock (_lock)
            Assert.All(_tokens, t => Assert.Equal(cancel.Token, t));
    }

    [Fact]
    public async Task Cancellation_during_a_pause_stops_the_asking()
    {
        using var cancel = new CancellationTokenSource();
        var task = Ask(Short, Moving, cancel: cancel.Token);
        // Two attempts, then cancelled in the second pause.
        await Settle(task);
        _clock.Advance(Ms * 20);
        await _attempted.Beyond(1, "the second attempt");
        await Settle(task);
        Assert.False(task.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(Bound));
        Assert.True(task.IsCanceled);

        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal([0L, 20], AttemptTimes());
    }

    [Fact]
    public async Task A_token_cancelled_before_the_first_pause_stops_after_one_attempt()
    {
        using var cancel = new CancellationTokenSource();
        var task = Ask(Short, n =>
        {
            cancel.Cancel(); // cancelled while the first attempt runs
            return Moving(n);
        }, cancel: cancel.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(Bound));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(1, Attempts);
    }
}
