using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests.Partitions;

/// <summary>How a partitioned queue's answers are made from its partitions' (<see cref="PartitionAnswers"/>, pure).</summary>
public sealed class PartitionAnswersSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static QueueStats Stats(string name, int ready, DateTimeOffset? paused, long completes, TimeSpan lag) =>
        new(name, ready, ready / 2, 1, 2, 3, 4, 10 + ready, paused, new Dictionary<string, long> { ["complete"] = completes, ["push"] = 1 }, 5, lag, 6, 7);

    [Fact]
    public void Stats_add_up_and_a_pause_or_a_lag_is_the_longest_of_any_partition()
    {
        var total = PartitionAnswers.Stats("orders", [
            Stats("orders~0", 4, null, 10, TimeSpan.FromSeconds(1)),
            Stats("orders~1", 6, T0.AddMinutes(5), 20, TimeSpan.FromSeconds(9)),
            Stats("orders~2", 0, T0.AddMinutes(1), 0, TimeSpan.Zero)]);
        Assert.Equal(("orders", 10, 5, 3, 6, 9, 12, 40L), (total.Queue, total.Ready, total.Urgent, total.Delayed, total.Reserved, total.Buried, total.Waiting, total.TotalJobs));
        Assert.Equal((T0.AddMinutes(5), TimeSpan.FromSeconds(9), 15L, 18L, 21L), (total.PausedUntil, total.Lag, total.JobTimeouts, total.Failures, total.Cancelled));
        Assert.Equal(30, total.Commands["complete"]);
        Assert.Equal(3, total.Commands["push"]);
        Assert.Null(PartitionAnswers.Stats("q", [Stats("q~0", 1, null, 0, default), Stats("q~1", 1, null, 0, default)]).PausedUntil);
    }

    [Fact]
    public void Health_is_running_only_when_every_partition_runs_with_the_latest_failure()
    {
        var health = PartitionAnswers.Health("orders", [
            new QueueHealth("orders~0", true, T0, null, T0, T0.AddSeconds(-50), "old", 1),
            new QueueHealth("orders~1", false, T0.AddSeconds(1), T0.AddSeconds(-2), T0.AddSeconds(-3), T0.AddSeconds(-5), "disk full", 2)]);
        Assert.Equal(("orders", false, T0.AddSeconds(1), T0.AddSeconds(-2), T0.AddSeconds(-3)), (health.Queue, health.Running, health.Now, health.WriteInFlightSince, health.LastWriteAt));
        Assert.Equal((T0.AddSeconds(-5), "disk full", 3), (health.LastFailureAt, health.LastFailure, health.Failures));
    }

    private static JobView View(string id, uint priority, DateTimeOffset created, DateTimeOffset? due = null) =>
        new(new Job(id, "orders~0", JobPayload.Create("c"), priority, TimeSpan.FromSeconds(10), null, null, created), due is null ? JobState.Ready : JobState.Delayed,
            priority, 1, due, null, 0, 0, 0, 0, 0, 0, null);

    [Fact]
    public void A_peek_shows_the_most_urgent_then_oldest_ready_job_the_soonest_delayed_and_the_first_partitions_buried()
    {
        IReply[] ready = [new NoJob(JobState.Ready), View("a", 5, T0), View("b", 1, T0.AddSeconds(2)), View("c", 1, T0.AddSeconds(1))];
        Assert.Equal("c", Assert.IsType<JobView>(PartitionAnswers.Peek(JobState.Ready, ready)).Job.Id);
        IReply[] delayed = [View("d", 0, T0, T0.AddMinutes(3)), View("e", 9, T0, T0.AddMinutes(1))];
        Assert.Equal("e", Assert.IsType<JobView>(PartitionAnswers.Peek(JobState.Delayed, delayed)).Job.Id);
        IReply[] buried = [new NoJob(JobState.Buried), View("f", 9, T0), View("g", 0, T0)];
        Assert.Equal("f", Assert.IsType<JobView>(PartitionAnswers.Peek(JobState.Buried, buried)).Job.Id);
        Assert.Equal(new NoJob(JobState.Ready), PartitionAnswers.Peek(JobState.Ready, [new NoJob(JobState.Ready)]));
    }

    [Theory]
    [InlineData(0, null, "0:")]
    [InlineData(2, "1024.17", "2:1024.17")]
    public void A_listing_cursor_names_the_partition_and_its_own_cursor(int partition, string? inner, string cursor)
    {
        Assert.Equal(cursor, PartitionAnswers.Cursor(partition, inner));
        Assert.True(PartitionAnswers.TryParseCursor(cursor, 3, out var p, out var i));
        Assert.Equal((partition, inner), (p, i));
    }

    [Theory]
    [InlineData("3:x")]
    [InlineData(":x")]
    [InlineData("x")]
    [InlineData("-1:x")]
    public void Anything_else_is_no_cursor(string cursor) => Assert.False(PartitionAnswers.TryParseCursor(cursor, 3, out _, out _));
}
