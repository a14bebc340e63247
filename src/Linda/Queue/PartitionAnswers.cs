using System.Globalization;
using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// How a partitioned queue's answers are made from its partitions' (pure: the router asks, this adds
/// up). Counts and counters are sums; a pause is the queue's while any partition is paused (until the
/// latest); lag is the longest; a peek is the most urgent, soonest due or first buried over all;
/// listings run through the partitions in order, each in its state's order, with a cursor that names
/// the partition it stopped in (<c>i:CURSOR</c>).
/// </summary>
public static class PartitionAnswers
{
    /// <summary>The queue's stats: every partition's added up, under the queue's name.</summary>
    public static QueueStats Stats(string queue, IReadOnlyList<QueueStats> partitions)
    {
        var commands = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var p in partitions)
        {
            foreach (var (name, count) in p.Commands)
                commands[name] = commands.GetValueOrDefault(name) + count;
        }
        return new QueueStats(
            queue,
            partitions.Sum(p => p.Ready),
            partitions.Sum(p => p.Urgent),
            partitions.Sum(p => p.Delayed),
            partitions.Sum(p => p.Reserved),
            partitions.Sum(p => p.Buried),
            partitions.Sum(p => p.Waiting),
            partitions.Sum(p => p.TotalJobs),
            partitions.Max(p => p.PausedUntil),
            commands,
            partitions.Sum(p => p.JobTimeouts),
            partitions.Max(p => p.Lag),
            partitions.Sum(p => p.Failures),
            partitions.Sum(p => p.Cancelled));
    }

    /// <summary>The queue's health: running when every partition is; its journal's last failure is the latest of any.</summary>
    public static QueueHealth Health(string queue, IReadOnlyList<QueueHealth> partitions)
    {
        var failed = partitions.Where(p => p.LastFailureAt is not null).MaxBy(p => p.LastFailureAt);
        return new QueueHealth(
            queue,
            partitions.All(p => p.Running),
            partitions.Max(p => p.Now),
            partitions.Min(p => p.WriteInFlightSince),
            partitions.Min(p => p.LastWriteAt),
            failed?.LastFailureAt,
            failed?.LastFailure,
            partitions.Sum(p => p.Failures));
    }

    /// <summary>
    /// The job a peek of <paramref name="state"/> shows over all partitions (their answers in partition
    /// order): ready, the most urgent (then the oldest); delayed, the soonest due; buried, the first
    /// partition's (a kick takes the partitions in order). <see cref="NoJob"/> when none has one.
    /// </summary>
    public static IReply Peek(JobState state, IReadOnlyList<IReply> partitions)
    {
        var views = partitions.OfType<JobView>().ToList();
        if (views.Count == 0)
            return new NoJob(state);
        return state switch
        {
            JobState.Ready => views.MinBy(v => (v.Priority, v.Job.CreatedAt))!,
            JobState.Delayed => views.MinBy(v => v.DueAt ?? DateTimeOffset.MaxValue)!,
            _ => views[0],
        };
    }

    /// <summary>The cursor of a listing that goes on in <paramref name="partition"/> after its cursor <paramref name="inner"/> (null: at its start).</summary>
    public static string Cursor(int partition, string? inner) => partition.ToString(CultureInfo.InvariantCulture) + ":" + inner;

    /// <summary>Reads a cursor <see cref="Cursor"/> made: the partition and its own cursor (null: its start); false for anything else.</summary>
    public static bool TryParseCursor(string cursor, int count, out int partition, out string? inner)
    {
        partition = -1;
        inner = null;
        var colon = cursor.IndexOf(':');
        if (colon < 1 || !int.TryParse(cursor.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out partition) || partition >= count)
            return false;
        inner = colon == cursor.Length - 1 ? null : cursor[(colon + 1)..];
        return true;
    }
}
