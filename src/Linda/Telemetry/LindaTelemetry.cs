using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Linda.Telemetry;

/// <summary>
/// Linda's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named <c>Linda</c>: an
/// OpenTelemetry set-up picks them up with <c>AddMeter("Linda")</c> and <c>AddSource("Linda")</c>.
/// Instruments follow OpenTelemetry's messaging conventions where they fit (<c>messaging.system</c> =
/// <c>linda</c>, <c>messaging.destination.name</c> = the queue); Linda's own are lowercase and dotted.
/// </summary>
/// <remarks>
/// Where each is recorded: the queue's counters and gauges on the node that runs the queue (they
/// count every client: workers, <c>ILindaClient</c>, the beanstalkd front end); handler runs on the
/// worker's node; client operations where the client asks.
/// </remarks>
public static class LindaTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "Linda";

    /// <summary><c>messaging.system</c>'s value.</summary>
    public const string System = "linda";

    /// <summary>Attribute names.</summary>
    public static class Attributes
    {
        /// <summary><c>messaging.system</c>.</summary>
        public const string MessagingSystem = "messaging.system";
        /// <summary><c>messaging.destination.name</c>.</summary>
        public const string Destination = "messaging.destination.name";
        /// <summary><c>messaging.operation.name</c>.</summary>
        public const string Operation = "messaging.operation.name";
        /// <summary><c>error.type</c>.</summary>
        public const string ErrorType = "error.type";

        /// <summary><c>messaging.message.id</c>: the job's id.</summary>
        public const string MessageId = "messaging.message.id";

        /// <summary><c>linda.job.class</c>: the handler class, on spans only.</summary>
        public const string JobClass = "linda.job.class";

        /// <summary><c>linda.job.attempt</c>: which attempt a run is, on spans only.</summary>
        public const string Attempt = "linda.job.attempt";
        /// <summary><c>linda.job.state</c>.</summary>
        public const string JobState = "linda.job.state";
    }

    /// <summary>Instrument names.</summary>
    public static class Instruments
    {
        /// <summary><c>messaging.client.sent.messages</c>.</summary>
        public const string SentMessages = "messaging.client.sent.messages";
        /// <summary><c>messaging.client.consumed.messages</c>.</summary>
        public const string ConsumedMessages = "messaging.client.consumed.messages";
        /// <summary><c>messaging.process.duration</c>.</summary>
        public const string ProcessDuration = "messaging.process.duration";
        /// <summary><c>messaging.client.operation.duration</c>.</summary>
        public const string OperationDuration = "messaging.client.operation.duration";
        /// <summary><c>linda.queue.jobs</c>.</summary>
        public const string Jobs = "linda.queue.jobs";
        /// <summary><c>linda.queue.lag</c>.</summary>
        public const string Lag = "linda.queue.lag";
        /// <summary><c>linda.job.failures</c>.</summary>
        public const string Failures = "linda.job.failures";
        /// <summary><c>linda.job.buries</c>.</summary>
        public const string Buries = "linda.job.buries";
        /// <summary><c>linda.lease.expiries</c>.</summary>
        public const string LeaseExpiries = "linda.lease.expiries";
        /// <summary><c>linda.lease.lost</c>.</summary>
        public const string LeasesLost = "linda.lease.lost";
        /// <summary><c>linda.journal.write.duration</c>.</summary>
        public const string WriteDuration = "linda.journal.write.duration";
        /// <summary><c>linda.journal.write.events</c>.</summary>
        public const string WriteEvents = "linda.journal.write.events";
    }

    private static readonly string Version = typeof(LindaTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The meter all of Linda's instruments belong to.</summary>
    public static Meter Meter { get; } = new(Name, Version);

    /// <summary>The source of Linda's spans.</summary>
    public static ActivitySource Source { get; } = new(Name, Version);

    // Seconds from 100 µs to a minute: a journal round is ~0.3 ms, a handler run anything.
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };

    internal static readonly Counter<long> SentMessages = Meter.CreateCounter<long>(
        Instruments.SentMessages, "{message}", "Pushes the queue acknowledged: their event is in the journal.");

    internal static readonly Counter<long> ConsumedMessages = Meter.CreateCounter<long>(
        Instruments.ConsumedMessages, "{message}", "Jobs the queue handed out under a lease (Reserved replies).");

    internal static readonly Histogram<double> ProcessDuration = Meter.CreateHistogram(
        Instruments.ProcessDuration, "s", "How long a worker's handler ran a job; error.type is set when it threw.", advice: SecondsAdvice);

    internal static readonly Histogram<double> OperationDuration = Meter.CreateHistogram(
        Instruments.OperationDuration, "s", "How long a client waited for the queue's answer (ILindaClient).", advice: SecondsAdvice);

    internal static readonly Counter<long> Failures = Meter.CreateCounter<long>(
        Instruments.Failures, "{job}", "Failed attempts: releases with an error, and leases that ended without a verdict.");

    internal static readonly Counter<long> Buries = Meter.CreateCounter<long>(
        Instruments.Buries, "{job}", "Jobs buried: by a bury verdict, or with their retries used up.");

    internal static readonly Counter<long> LeaseExpiries = Meter.CreateCounter<long>(
        Instruments.LeaseExpiries, "{lease}", "Leases that ran past their time-to-run without a verdict or a touch.");

    internal static readonly Counter<long> LeasesLost = Meter.CreateCounter<long>(
        Instruments.LeasesLost, "{lease}", "Leases taken back because their holder died or its node left the cluster.");

    internal static readonly Histogram<double> WriteDuration = Meter.CreateHistogram(
        Instruments.WriteDuration, "s", "From a journal write's start to its acknowledgement: one row.", advice: SecondsAdvice);

    internal static readonly Histogram<long> WriteEvents = Meter.CreateHistogram(
        Instruments.WriteEvents, "{event}", "Events in one journal write (one row).",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500] });

    // The queues running in this process, for the observable gauges.
    private static readonly ConcurrentDictionary<QueueTelemetry, byte> Queues = new();

    private static readonly ObservableGauge<long> JobsGauge = Meter.CreateObservableGauge(
        Instruments.Jobs, ObserveJobs, "{job}", "Jobs in the queue, per state (linda.job.state: ready, delayed, reserved, buried).");

    private static readonly ObservableGauge<double> LagGauge = Meter.CreateObservableGauge(
        Instruments.Lag, ObserveLag, "s", "Age of the oldest ready job: how long it has been ready (0 with none ready).");

    /// <summary>
    /// A client's ask of a queue is over: <c>messaging.client.operation.duration</c>, with
    /// <c>messaging.operation.name</c> (<c>send</c> for a push, else the command's name in lowercase)
    /// and <c>error.type</c> when it was refused (the reply's type) or failed (the exception's).
    /// </summary>
    internal static void ClientOperation(string queue, JobQueue.ICommand command, long startedAt, string? errorType)
    {
        if (!OperationDuration.Enabled)
            return;
        var operation = command is JobQueue.Push ? "send" : command.GetType().Name.ToLowerInvariant();
        var tags = new TagList
        {
            { Attributes.MessagingSystem, System },
            { Attributes.Destination, queue },
            { Attributes.Operation, operation },
        };
        if (errorType is not null)
            tags.Add(Attributes.ErrorType, errorType);
        OperationDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
    }

    /// <summary>A worker's handler ran a job: <c>messaging.process.duration</c>, with <c>error.type</c> when it threw.</summary>
    internal static void Processed(string queue, long startedAt, string? errorType)
    {
        if (!ProcessDuration.Enabled)
            return;
        var tags = new TagList
        {
            { Attributes.MessagingSystem, System },
            { Attributes.Destination, queue },
            { Attributes.Operation, "process" },
        };
        if (errorType is not null)
            tags.Add(Attributes.ErrorType, errorType);
        ProcessDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
    }

    /// <summary>A push's PRODUCER span, <c>send {queue}</c>; null when nothing listens.</summary>
    internal static Activity? StartSend(string queue)
    {
        var span = Source.StartActivity($"send {queue}", ActivityKind.Producer);
        span?.SetTag(Attributes.MessagingSystem, System).SetTag(Attributes.Destination, queue).SetTag(Attributes.Operation, "send");
        return span;
    }

    /// <summary>The push's answer, on its span: the job's id, or the refusal as an error.</summary>
    internal static void Sent(Activity span, JobQueue.IReply reply)
    {
        switch (reply)
        {
            case JobQueue.Pushed p:
                span.SetTag(Attributes.MessageId, p.JobId);
                break;
            case JobQueue.AlreadyExists e:
                span.SetTag(Attributes.MessageId, e.JobId);
                break;
            case JobQueue.IFailure f:
                span.SetStatus(ActivityStatusCode.Error, f.Message).SetTag(Attributes.ErrorType, f.GetType().Name);
                break;
        }
    }

    /// <summary>
    /// A handler's run: the CONSUMER span <c>process {queue}</c>, a child of the span that pushed the
    /// job (so both are in one trace) and linked to it; null when nothing listens.
    /// </summary>
    internal static Activity? StartProcess(JobQueue.Reserved reserved)
    {
        var job = reserved.Job;
        ActivityContext parent = default;
        var hasParent = job.TraceParent is { } trace && ActivityContext.TryParse(trace, null, isRemote: true, out parent);
        var span = Source.StartActivity($"process {job.Queue}", ActivityKind.Consumer, parent,
            links: hasParent ? [new ActivityLink(parent)] : null);
        span?.SetTag(Attributes.MessagingSystem, System).SetTag(Attributes.Destination, job.Queue).SetTag(Attributes.Operation, "process")
            .SetTag(Attributes.MessageId, job.Id).SetTag(Attributes.JobClass, job.Payload.Class).SetTag(Attributes.Attempt, reserved.Attempt);
        return span;
    }

    internal static void Register(QueueTelemetry queue)
    {
        _ = JobsGauge; // the gauges exist once a queue does
        _ = LagGauge;
        Queues[queue] = 0;
    }

    internal static void Unregister(QueueTelemetry queue) => Queues.TryRemove(queue, out _);

    private static IEnumerable<Measurement<long>> ObserveJobs()
    {
        foreach (var q in Queues.Keys)
        {
            var counts = q.Counts;
            yield return new Measurement<long>(counts.Ready, q.StateTags[0]);
            yield return new Measurement<long>(counts.Delayed, q.StateTags[1]);
            yield return new Measurement<long>(counts.Reserved, q.StateTags[2]);
            yield return new Measurement<long>(counts.Buried, q.StateTags[3]);
        }
    }

    private static IEnumerable<Measurement<double>> ObserveLag()
    {
        foreach (var q in Queues.Keys)
            yield return new Measurement<double>(q.Lag().TotalSeconds, q.Tags);
    }
}
