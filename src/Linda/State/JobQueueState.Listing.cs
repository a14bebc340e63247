using System.Globalization;
using static Linda.JobQueue;

namespace Linda;

// Paged listings of one state's jobs, for the dashboard, the API and the CLI.
public sealed partial class JobQueueState
{
    /// <summary>The most jobs one page of <see cref="ListJobs"/> holds.</summary>
    public const int MaxListLimit = 1000;

    /// <summary>
    /// One page of the jobs in <paramref name="cmd"/>'s state, in that state's order (ready: most urgent
    /// first; delayed: soonest due; reserved: soonest lease deadline; buried: in kick order, the first
    /// buried first), or the reverse. The page starts after the cursor a previous page gave, so a job
    /// that moves between pages is neither skipped twice nor listed twice in one pass of its state.
    /// Costs a lookup and the page: the jobs are never copied.
    /// </summary>
    public Decision ListJobs(ListJobs cmd)
    {
        if (cmd.Limit is < 1 or > MaxListLimit)
            return Decision.Refuse(new Rejected(RejectReason.InvalidLimit, $"a page holds 1 to {MaxListLimit} jobs, not {cmd.Limit}"));
        var (set, order) = cmd.State switch
        {
            JobState.Ready => (_ready, (IComparer<Entry>)ReadyOrder.Instance),
            JobState.Delayed => (_delayed, DueOrder.Instance),
            JobState.Reserved => (_leases, DeadlineOrder.Instance),
            JobState.Buried => (_buried, BuryOrder.Instance),
            _ => (null, null),
        };
        if (set is null || order is null)
            return Decision.Refuse(new Rejected(RejectReason.InvalidCursor, $"no job state {(int)cmd.State}"));
        Entry? after = null;
        if (cmd.After is { } cursor)
        {
            if (ParseCursor(cursor, cmd.State) is not { } probe)
                return Decision.Refuse(new Rejected(RejectReason.InvalidCursor, $"'{cursor}' is not a cursor this queue gave for {cmd.State} jobs"));
            after = probe;
        }
        IEnumerable<Entry> from;
        if (set.Count == 0)
            from = [];
        else if (after is null)
            from = cmd.Reverse ? set.Reverse() : set;
        else if (cmd.Reverse)
            from = order.Compare(after, set.Min!) <= 0 ? [] : set.GetViewBetween(set.Min!, after).Reverse();
        else
            from = order.Compare(after, set.Max!) >= 0 ? [] : set.GetViewBetween(after, set.Max!);

        var page = new List<JobView>(Math.Min(cmd.Limit, set.Count));
        Entry? last = null;
        var more = false;
        foreach (var e in from)
        {
            if (after is not null && order.Compare(e, after) == 0)
                continue; // the cursor's own job, still there
            if (page.Count == cmd.Limit)
            {
                more = true;
                break;
            }
            page.Add(e.ToView());
            last = e;
        }
        var next = more && last is not null ? Cursor(last, cmd.State) : null;
        return Decision.Answer(new JobList(cmd.State, page, next, set.Count));
    }

    // A cursor is the last job's place in its state's order: "key.seq" (the key is the priority, the
    // due or deadline ticks, or the bury order), so a page can start after it even once it moved.
    private static string Cursor(Entry e, JobState state) => state switch
    {
        JobState.Ready => $"{e.Priority}.{e.Seq}",
        JobState.Delayed => $"{e.DueTicks}.{e.Seq}",
        JobState.Reserved => $"{e.DeadlineTicks}.{e.Seq}",
        _ => $"{e.BuryOrder}.{e.Seq}",
    };

    private static readonly Job CursorJob = new("cursor", "cursor", JobPayload.Create("cursor"), 0, TimeSpan.FromSeconds(1), null, null, DateTimeOffset.UnixEpoch);

    private static Entry? ParseCursor(string cursor, JobState state)
    {
        var dot = cursor.IndexOf('.');
        if (dot <= 0 || cursor.Length > 48
            || !long.TryParse(cursor.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var key)
            || !long.TryParse(cursor.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            return null;
        var probe = new Entry(CursorJob, seq);
        switch (state)
        {
            case JobState.Ready when key <= uint.MaxValue:
                probe.Priority = (uint)key;
                break;
            case JobState.Delayed when key <= DateTimeOffset.MaxValue.UtcTicks:
                probe.DueAt = new DateTimeOffset(key, TimeSpan.Zero);
                break;
            case JobState.Reserved when key <= DateTimeOffset.MaxValue.UtcTicks:
                probe.Deadline = new DateTimeOffset(key, TimeSpan.Zero);
                break;
            case JobState.Buried:
                probe.BuryOrder = key;
                break;
            default:
                return null;
        }
        return probe;
    }
}
