using Akka.Actor;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// A journal that fails to write: the push is answered with a failure, the state is not changed, and
/// the queue keeps serving. The failure is real: a trigger on the SQLite journal table aborts inserts.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class JournalFailureSpec(ITestOutputHelper output)
    : QueueSpec(output, new TempFolder(), "linda.queue.restart-backoff = 50ms")
{
    private void Sql(string sql) => SqliteFile.Execute(DatabasePath, sql);

    [Fact]
    public void A_failed_write_is_answered_with_WriteFailed_changes_nothing_and_the_queue_keeps_serving()
    {
        var q = StartQueue();
        q.Tell(new Push("jobs", JobPayload.Create("work")) { Id = "before" });
        ExpectMsg<Pushed>();

        Sql("CREATE TRIGGER fail_writes BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'injected journal failure'); END;");
        q.Tell(new Push("jobs", JobPayload.Create("work")) { Id = "lost" });
        var failed = ExpectMsg<WriteFailed>();
        Assert.Contains("journal", failed.Message);

        // While the journal refuses writes, reads still work: the restarted queue recovered without "lost".
        q.Tell(new GetJob("lost"));
        ExpectMsg(new NotFound("lost"));
        q.Tell(new GetJob("before"));
        Assert.Equal(JobState.Ready, ExpectMsg<JobView>().State);

        Sql("DROP TRIGGER fail_writes;");
        q.Tell(new Push("jobs", JobPayload.Create("work")) { Id = "after" });
        ExpectMsg(new Pushed("after", JobState.Ready) { Seq = 2 });
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>();
        Assert.Equal(2, stats.Jobs);
        Assert.Equal(2, stats.TotalJobs);

        q.Tell(new Reserve(TimeSpan.Zero));
        Assert.Equal("before", ExpectMsg<Reserved>().Job.Id);
    }
}
