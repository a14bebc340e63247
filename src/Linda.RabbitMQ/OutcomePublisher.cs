using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using RabbitMQ.Client;
using static Linda.JobQueue;

namespace Linda.RabbitMQ;

/// <summary>
/// The bridge's egress: listens on the node's EventStream for <see cref="JobEnded"/> of the bridged Linda
/// queues (those this node hosts tell it), keeps them in a bounded buffer, and publishes each as JSON to
/// the outcome exchange with confirms, in order of arrival; while RabbitMQ is away they wait (the oldest
/// dropped beyond <see cref="RabbitMqBridgeOptions.OutcomeBuffer"/>). At most once end to end: the queue's
/// own telling is (see <see cref="JobEnded"/>), and what waits here when the bridge stops is dropped.
/// </summary>
internal sealed class OutcomePublisher : IAsyncDisposable
{
    // Outcomes published at once (each waits for its confirm; the next ones don't wait for it).
    private const int InFlight = 64;

    private readonly RabbitMqBridgeOptions _options;
    private readonly string _exchange;
    private readonly ActorSystem _system;
    private readonly ILoggingAdapter _log;
    private readonly Func<IChannel?> _channel;
    private readonly CancellationToken _stop;
    private readonly Channel<JobEnded> _buffer;
    private IActorRef? _listener;
    private Task? _loop;
    private long _published;
    private long _dropped;

    public OutcomePublisher(RabbitMqBridgeOptions options, string exchange, ActorSystem system, ILoggingAdapter log, Func<IChannel?> channel, CancellationToken stop)
    {
        _options = options;
        _exchange = exchange;
        _system = system;
        _log = log;
        _channel = channel;
        _stop = stop;
        _buffer = Channel.CreateBounded<JobEnded>(
            new BoundedChannelOptions(options.OutcomeBuffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    public long Published => Interlocked.Read(ref _published);

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Start()
    {
        var queues = _options.Queues.Select(q => q.LindaQueueName).ToHashSet(StringComparer.Ordinal);
        var writer = _buffer.Writer;
        Func<JobEnded, bool> wanted = e => queues.Contains(e.Queue) && (e.Outcome == JobOutcome.Completed ? _options.PublishCompletions : _options.PublishBurials);
        _listener = _system.ActorOf(Props.Create(() => new Listener(writer, wanted)));
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var batch = new List<JobEnded>(InFlight);
        var pause = _options.ReconnectDelay;
        try
        {
            while (await _buffer.Reader.WaitToReadAsync(_stop))
            {
                while (batch.Count < InFlight && _buffer.Reader.TryRead(out var e))
                    batch.Add(e);
                while (batch.Count > 0)
                {
                    if (_channel() is not { } channel)
                    {
                        await Task.Delay(pause, _stop); // the bridge is connecting again
                        continue;
                    }
                    var sent = await Task.WhenAll(batch.Select(e => TryPublishAsync(channel, e)));
                    var left = batch.Where((_, i) => !sent[i]).ToList();
                    Interlocked.Add(ref _published, batch.Count - left.Count);
                    batch = left;
                    if (batch.Count > 0)
                        await Task.Delay(pause, _stop);
                }
                batch = new List<JobEnded>(InFlight);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // stopped: what waits is dropped (at most once)
        }
    }

    private async Task<bool> TryPublishAsync(IChannel channel, JobEnded e)
    {
        var outcome = e.Outcome == JobOutcome.Completed ? "completed" : "buried";
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "application/json",
            Type = outcome,
            CorrelationId = e.JobId,
            MessageId = $"{e.Queue}/{e.JobId}/{outcome}/{e.At.UtcTicks}",
            Timestamp = new AmqpTimestamp(e.At.ToUnixTimeSeconds()),
        };
        try
        {
            await channel.BasicPublishAsync(_exchange, $"{e.Queue}.{outcome}", mandatory: false, properties, Json(e, outcome), _stop);
            return true;
        }
        catch (Exception x) when (x is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            _log.Warning("rabbitmq bridge: outcome of job {0} of {1} not published yet ({2}); trying again", e.JobId, e.Queue, x.Message);
            return false;
        }
    }

    /// <summary>The outcome as its consumers read it: <c>{"queue", "id", "class", "outcome", "reason", "at", "attempts"}</c>.</summary>
    internal static byte[] Json(JobEnded e, string outcome)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("queue", e.Queue);
            json.WriteString("id", e.JobId);
            json.WriteString("class", e.Class);
            json.WriteString("outcome", outcome);
            if (e.Reason is null)
                json.WriteNull("reason");
            else
                json.WriteString("reason", e.Reason);
            json.WriteString("at", e.At.UtcDateTime);
            json.WriteNumber("attempts", e.Attempts);
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
            _system.Stop(_listener);
        _buffer.Writer.TryComplete();
        if (_loop is not null)
            await _loop;
    }

    /// <summary>Subscribed to <see cref="JobEnded"/> on the EventStream; hands the wanted ones to the buffer.</summary>
    private sealed class Listener : ReceiveActor
    {
        public Listener(ChannelWriter<JobEnded> writer, Func<JobEnded, bool> wanted)
        {
            Receive<JobEnded>(e =>
            {
                if (wanted(e))
                    writer.TryWrite(e);
            });
        }

        protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(JobEnded));

        protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
    }
}
