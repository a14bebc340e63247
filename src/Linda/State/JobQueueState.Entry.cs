using static Linda.JobQueue;

namespace Linda;

// One job's entry in the state, and the orders of the four sets.
public sealed partial class JobQueueState
{
    private sealed class Entry(Job job, long seq)
    {
        public readonly Job Job = job;
        public readonly long Seq = seq;
        public JobState State;
        public uint Priority;
        // Times as UTC ticks: 8 bytes each where a DateTimeOffset takes 16, a million times over.
        private long _dueAt;
        private long _runDueAt;
        private long _deadline;

        public DateTimeOffset DueAt
        {
            get => new(_dueAt, TimeSpan.Zero);
            set => _dueAt = value.UtcTicks;
        }

        public DateTimeOffset RunDueAt
        {
            get => new(_runDueAt, TimeSpan.Zero);
            set => _runDueAt = value.UtcTicks;
        }

        public DateTimeOffset Deadline
        {
            get => new(_deadline, TimeSpan.Zero);
            set => _deadline = value.UtcTicks;
        }

        public long DueTicks => _dueAt;

        /// <summary>When the job last became ready (UTC ticks), and its neighbours in that order: <see cref="ReadySinceList"/>.</summary>
        public long ReadySince;
        public Entry? ReadyPrev;
        public Entry? ReadyNext;

        public long DeadlineTicks => _deadline;

        public TimeSpan Delay;
        public long Token;
        public string? Holder;
        public long BuryOrder;
        public int Attempts;
        public int Reserves;
        public int Timeouts;
        public int Releases;
        public int Buries;
        public int Kicks;
        public string? LastError;
        public bool CancelRequested;
        public bool Held; // ready, but waiting for a slot of its concurrency key
        public int? Progress;
        public string? ProgressMessage;
        public DateTimeOffset? ProgressAt;

        public JobView ToView() => new(
            Job, State, Priority, Seq,
            State == JobState.Delayed ? DueAt : null,
            State == JobState.Reserved ? Deadline : null,
            Attempts, Reserves, Timeouts, Releases, Buries, Kicks, LastError, Delay,
            State == JobState.Reserved ? Holder : null, CancelRequested, Progress, ProgressMessage, ProgressAt);

        public JobSnapshot ToSnapshot() => new(
            Job, Seq, State, Priority,
            State == JobState.Delayed ? DueAt : null,
            RunDueAt,
            State == JobState.Reserved ? Token : 0,
            State == JobState.Reserved ? Deadline : null,
            State == JobState.Reserved ? Holder : null,
            State == JobState.Buried ? BuryOrder : 0,
            Attempts, Reserves, Timeouts, Releases, Buries, Kicks, LastError, Delay, CancelRequested);
    }

    /// <summary>Orders entries by a key of theirs, then by push order.</summary>
    private abstract class KeyThenSeq : IComparer<Entry>
    {
        protected abstract long Key(Entry e);

        public int Compare(Entry? x, Entry? y)
        {
            var c = Key(x!).CompareTo(Key(y!));
            return c != 0 ? c : x!.Seq.CompareTo(y!.Seq);
        }
    }

    /// <summary>beanstalkd's <c>job_pri_less</c>: priority, then push order.</summary>
    private sealed class ReadyOrder : KeyThenSeq
    {
        public static readonly ReadyOrder Instance = new();
        protected override long Key(Entry e) => e.Priority;
    }

    private sealed class DueOrder : KeyThenSeq
    {
        public static readonly DueOrder Instance = new();
        protected override long Key(Entry e) => e.DueTicks;
    }

    private sealed class DeadlineOrder : KeyThenSeq
    {
        public static readonly DeadlineOrder Instance = new();
        protected override long Key(Entry e) => e.DeadlineTicks;
    }

    private sealed class BuryOrder : IComparer<Entry>
    {
        public static readonly BuryOrder Instance = new();
        public int Compare(Entry? x, Entry? y) => x!.BuryOrder.CompareTo(y!.BuryOrder);
    }

    /// <summary>
    /// The ready jobs in the order they became ready (an intrusive list through the entries: O(1) to
    /// add at the end and to take out anywhere), so the oldest is at hand for the queue's lag.
    /// </summary>
    private sealed class ReadySinceList
    {
        private Entry? _first;
        private Entry? _last;

        public Entry? Oldest => _first;

        public void Append(Entry e, long since)
        {
            e.ReadySince = since;
            e.ReadyPrev = _last;
            e.ReadyNext = null;
            if (_last is null)
                _first = e;
            else
                _last.ReadyNext = e;
            _last = e;
        }

        public void Remove(Entry e)
        {
            if (e.ReadyPrev is null)
                _first = e.ReadyNext;
            else
                e.ReadyPrev.ReadyNext = e.ReadyNext;
            if (e.ReadyNext is null)
                _last = e.ReadyPrev;
            else
                e.ReadyNext.ReadyPrev = e.ReadyPrev;
            e.ReadyPrev = e.ReadyNext = null;
        }
    }
}
