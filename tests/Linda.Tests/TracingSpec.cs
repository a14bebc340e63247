using System.Collections.Concurrent;
using System.Diagnostics;
using Linda.Hosting;
using Linda.Telemetry;
using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;
using static Linda.Telemetry.LindaTelemetry;

namespace Linda.Tests;

/// <summary>
/// Linda's spans, read by an <see cref="ActivityListener"/> as an exporter would: a push is a
/// PRODUCER span under the caller's, the job carries its context through the journal (and a
/// snapshot), and the handler's run is a CONSUMER span in the same trace, linked to the push.
/// WithLinda on one-node clusters on a SQLite file (Akka's default cluster profile; nothing is killed).
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class TracingSpec : IDisposable
{
    private const string CallerName = "Linda.Tests.Caller";
    private static readonly ActivitySource Caller = new(CallerName);
    private readonly TempFolder _folder = new();
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();

    public TracingSpec()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is LindaTelemetry.Name or CallerName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => _stopped.Enqueue(a),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _folder.Dispose();
    }

    private Activity[] Spans(string queue) =>
        _stopped.Where(a => a.Source.Name == LindaTelemetry.Name && Equals(a.GetTagItem(Attributes.Destination), queue)).ToArray();

    [Fact]
    public async Task A_jobs_run_is_a_consumer_span_in_the_trace_of_the_request_that_pushed_it()
    {
        const string queue = "traced";
        var ran = new TaskCompletionSource<(ActivityContext Context, string? Parent)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new LindaOptions { Queues = [queue], WorkerNum = 1, SqlitePath = _folder.File("linda.db") };
        await using var node = await LindaHost.StartAsync(options, h => h.Register("work", _ =>
        {
            ran.TrySetResult((Activity.Current!.Context, Activity.Current.ParentId));
            return Task.CompletedTask;
        }));

        string jobId;
        ActivityContext request;
        using (var outer = Caller.StartActivity("POST /signup")!)
        {
            request = outer.Context;
            jobId = Assert.IsType<Pushed>(await node.Client.PushAsync(queue, JobPayload.Create("work", 1))).JobId;
        }
        var (run, runParent) = await ran.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Conditions.Until(() => Spans(queue).Any(s => s.Kind == ActivityKind.Consumer), "the run's span ended");

        var send = Assert.Single(Spans(queue), s => s.Kind == ActivityKind.Producer);
        Assert.Equal($"send {queue}", send.DisplayName);
        Assert.Equal(request.TraceId, send.TraceId);
        Assert.Equal(request.SpanId, send.ParentSpanId);
        Assert.Equal(LindaTelemetry.System, send.GetTagItem(Attributes.MessagingSystem));
        Assert.Equal(jobId, send.GetTagItem(Attributes.MessageId));
        Assert.Equal(ActivityStatusCode.Unset, send.Status);

        var process = Assert.Single(Spans(queue), s => s.Kind == ActivityKind.Consumer);
        Assert.Equal($"process {queue}", process.DisplayName);
        Assert.Equal(request.TraceId, process.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);
        Assert.Equal(send.SpanId, Assert.Single(process.Links).Context.SpanId);
        Assert.Equal(jobId, process.GetTagItem(Attributes.MessageId));
        Assert.Equal("work", process.GetTagItem(Attributes.JobClass));
        Assert.Equal(process.SpanId, run.SpanId); // the handler ran inside it
        Assert.Equal(process.ParentId, runParent);
    }

    [Fact]
    public async Task The_trace_context_survives_a_restart_from_a_snapshot_and_a_failed_run_is_an_error_span()
    {
        const string queue = "traced-later";
        var db = _folder.File("linda.db");
        var hocon = "linda.queue.snapshot-every = 1";
        ActivityContext request;
        // The first node runs no workers (they need the role "workers"): it only takes the push.
        await using (var first = await LindaHost.StartAsync(new LindaOptions { Queues = [queue], WorkerRole = "workers", SqlitePath = db }, hocon: hocon))
        {
            using var outer = Caller.StartActivity("POST /later")!;
            request = outer.Context;
            Assert.IsType<Pushed>(await first.Client.PushAsync(new Push(queue, JobPayload.Create("fails")) { Id = "x", MaxRetries = 0 }));
        }

        var ran = new TaskCompletionSource<ActivityTraceId>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new LindaOptions { Queues = [queue], WorkerRole = "workers", WorkerNum = 1, SqlitePath = db };
        await using var second = await LindaHost.StartAsync(options, h => h.Register("fails", _ =>
        {
            ran.TrySetResult(Activity.Current!.TraceId);
            throw new TimeoutException("the mail server did not answer");
        }), roles: ["workers"], hocon: hocon);

        Assert.Equal(request.TraceId, await ran.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        await Conditions.Until(() => Spans(queue).Any(s => s.Kind == ActivityKind.Consumer), "the run's span ended");
        var process = Assert.Single(Spans(queue), s => s.Kind == ActivityKind.Consumer);
        Assert.Equal(request.TraceId, process.TraceId);
        Assert.Equal(ActivityStatusCode.Error, process.Status);
        Assert.Equal(typeof(TimeoutException).FullName, process.GetTagItem(Attributes.ErrorType));
        // The restart above recovered from a snapshot in the new format.
        Assert.Contains("sQueue5", SqliteFile.Strings(db, "SELECT manifest FROM snapshot"));
    }
}
