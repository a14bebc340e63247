using Akka.Actor;
using Linda.Hosting;
using Linda.Telemetry;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;
using static Linda.Telemetry.LindaTelemetry;

namespace Linda.Tests;

/// <summary>
/// Linda's meter, read by a <see cref="System.Diagnostics.Metrics.MeterListener"/> as an exporter
/// would, after real commands on a queue actor on a SQLite file (manual clock): names, units,
/// attributes and values of the queue's counters, histograms and gauges.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class QueueTelemetrySpec(ITestOutputHelper output) : QueueSpec(output, new TempFolder())
{
    [Fact]
    public void The_queue_counts_what_it_acknowledges_hands_out_and_loses_and_reports_its_jobs_and_lag()
    {
        const string name = "telemetry-queue";
        using var metrics = new MetricsRecorder(name);
        var q = StartQueue(name);
        Settled(q);
        foreach (var id in new[] { "a", "b", "c", "d" })
            q.Tell(TestJobs.Push(id, ttr: TimeSpan.FromSeconds(10), maxRetries: 0, queue: name));
        q.Tell(TestJobs.Push("later", delay: TimeSpan.FromMinutes(5), queue: name));
        Assert.Equal(5, ReceiveN(5, Wait).OfType<Pushed>().Count());

        q.Tell(new Reserve(TimeSpan.Zero));
        var first = ExpectMsg<Reserved>(Wait);
        q.Tell(new Release(first.Job.Id, first.Token) { Error = "boom" });
        ExpectMsg<Released>(Wait);
        q.Tell(new Reserve(TimeSpan.Zero));
        var second = ExpectMsg<Reserved>(Wait);
        q.Tell(new Bury(second.Job.Id, second.Token, "bad"));
        ExpectMsg<Buried>(Wait);
        q.Tell(new Reserve(TimeSpan.Zero));
        var third = ExpectMsg<Reserved>(Wait);

        // The third lease runs out (max-retries 0: its job is buried), 11 s after the pushes.
        Clock.Advance(TimeSpan.FromSeconds(11));
        q.Tell(GetStats.Instance);
        var stats = ExpectMsg<QueueStats>(Wait);
        Assert.Equal(2, stats.Buried);
        Assert.Equal(2, stats.Ready);

        Assert.Equal(5, metrics.Sum(Instruments.SentMessages));
        Assert.Equal(3, metrics.Sum(Instruments.ConsumedMessages));
        Assert.Equal(1, metrics.Sum(Instruments.LeaseExpiries));
        Assert.Equal(0, metrics.Sum(Instruments.LeasesLost));
        Assert.Equal(2, metrics.Sum(Instruments.Failures)); // the release with an error, the expiry
        Assert.Equal(2, metrics.Sum(Instruments.Buries)); // the verdict, the expired job without retries
        Assert.All(metrics.Of(Instruments.SentMessages), m =>
        {
            Assert.Equal("{message}", m.Unit);
            Assert.Equal(LindaTelemetry.System, m.Tags[Attributes.MessagingSystem]);
        });

        var writes = metrics.Of(Instruments.WriteDuration);
        Assert.NotEmpty(writes);
        Assert.All(writes, w => Assert.True(w.Value > 0 && w.Value < 15, $"a write of {w.Value} s"));
        Assert.Equal("s", writes[0].Unit);
        Assert.Equal(writes.Count, metrics.Of(Instruments.WriteEvents).Count);
        // Every event written, once: 5 pushes, 3 leases, a release, a bury.
        Assert.Equal(10, metrics.Sum(Instruments.WriteEvents));

        metrics.Observe();
        Assert.Equal(2, metrics.Latest(Instruments.Jobs, Attributes.JobState, "ready"));
        Assert.Equal(1, metrics.Latest(Instruments.Jobs, Attributes.JobState, "delayed"));
        Assert.Equal(0, metrics.Latest(Instruments.Jobs, Attributes.JobState, "reserved"));
        Assert.Equal(2, metrics.Latest(Instruments.Jobs, Attributes.JobState, "buried"));
        // c and d have been ready since their push, 11 s ago.
        Assert.Equal(11, metrics.Latest(Instruments.Lag));
        Clock.Advance(TimeSpan.FromSeconds(4));
        metrics.Observe();
        Assert.Equal(15, metrics.Latest(Instruments.Lag));

        // With nothing ready the lag is 0.
        foreach (var _ in Enumerable.Range(0, 2))
        {
            q.Tell(new Reserve(TimeSpan.Zero));
            ExpectMsg<Reserved>(Wait);
        }
        Settled(q);
        metrics.Observe();
        Assert.Equal(0, metrics.Latest(Instruments.Lag));
        Assert.Equal(2, metrics.Latest(Instruments.Jobs, Attributes.JobState, "reserved"));
        Assert.Equal(5, metrics.Sum(Instruments.ConsumedMessages));
    }

    [Fact]
    public void A_recovered_queue_does_not_count_its_journal_again_and_a_stopped_one_reports_no_gauges()
    {
        const string name = "telemetry-recovery";
        var q = StartQueue(name);
        q.Tell(TestJobs.Push("a", queue: name));
        q.Tell(TestJobs.Push("b", queue: name));
        ReceiveN(2, Wait);
        Watch(q);
        Sys.Stop(q);
        ExpectTerminated(q, Wait);

        using var metrics = new MetricsRecorder(name);
        metrics.Observe();
        Assert.Empty(metrics.Of(Instruments.Jobs));

        var again = StartQueue(name);
        Settled(again);
        metrics.Observe();
        Assert.Equal(2, metrics.Latest(Instruments.Jobs, Attributes.JobState, "ready"));
        Assert.Equal(0, metrics.Sum(Instruments.SentMessages));
        again.Tell(TestJobs.Push("c", queue: name));
        ExpectMsg<Pushed>(Wait);
        Assert.Equal(1, metrics.Sum(Instruments.SentMessages));
    }
}

/// <summary>
/// Handler runs and client operations, end to end: WithLinda on a one-node cluster on a SQLite file
/// (Akka's default cluster profile; nothing is killed), pushes through <see cref="ILindaClient"/>.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class WorkerTelemetrySpec : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Handler_runs_and_client_asks_are_timed_with_their_outcome()
    {
        const string name = "telemetry-workers";
        using var metrics = new MetricsRecorder(name);
        var options = new LindaOptions { Queues = [name], WorkerNum = 2, SqlitePath = _folder.File("linda.db") };
        var done = new TaskCompletionSource();
        var runs = 0;
        await using var node = await LindaHost.StartAsync(options, h =>
        {
            h.Register("ok", _ => Interlocked.Increment(ref runs) == 3 ? Done() : Task.CompletedTask);
            h.Register("fails", _ =>
            {
                Interlocked.Increment(ref runs);
                throw new InvalidOperationException("no");
            });
        });
        Task Done()
        {
            done.TrySetResult();
            return Task.CompletedTask;
        }

        Assert.IsType<Pushed>(await node.Client.PushAsync(new Push(name, JobPayload.Create("fails")) { MaxRetries = 0 }));
        Assert.IsType<Pushed>(await node.Client.PushAsync(name, JobPayload.Create("ok")));
        Assert.IsType<Pushed>(await node.Client.PushAsync(name, JobPayload.Create("ok")));
        Assert.IsType<NotFound>(await node.Client.GetJobAsync(name, "nothing-by-that-name"));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(90)); // generous: the queue starts on a loaded machine
        await Conditions.Until(() => metrics.Of(Instruments.ProcessDuration).Count == 3 && metrics.Sum(Instruments.Buries) == 1,
            "three handler runs timed, the failed one buried");

        var runsTimed = metrics.Of(Instruments.ProcessDuration);
        Assert.All(runsTimed, r => Assert.Equal("s", r.Unit));
        Assert.Equal(2, runsTimed.Count(r => !r.Tags.ContainsKey(Attributes.ErrorType)));
        Assert.Equal(typeof(InvalidOperationException).FullName, Assert.Single(runsTimed, r => r.Tags.ContainsKey(Attributes.ErrorType)).Tags[Attributes.ErrorType]);

        var asks = metrics.Of(Instruments.OperationDuration);
        Assert.Equal(3, asks.Count(a => Equals(a.Tags[Attributes.Operation], "send") && !a.Tags.ContainsKey(Attributes.ErrorType)));
        var refused = Assert.Single(asks, a => Equals(a.Tags[Attributes.Operation], "getjob"));
        Assert.Equal(nameof(NotFound), refused.Tags[Attributes.ErrorType]);
        Assert.Equal(3, metrics.Sum(Instruments.SentMessages));
        Assert.Equal(3, metrics.Sum(Instruments.ConsumedMessages));
        Assert.Equal(1, metrics.Sum(Instruments.Buries)); // its retries used up: the worker buried it
    }
}
