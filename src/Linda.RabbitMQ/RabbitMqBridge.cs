using Akka.Actor;
using Akka.Event;
using Linda.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using static Linda.JobQueue;

namespace Linda.RabbitMQ;

/// <summary>
/// Takes messages from RabbitMQ queues into Linda's queues. Each message becomes a job
/// (<see cref="RabbitMqHeaders"/> says how its body and headers map) and is acknowledged to RabbitMQ only
/// once Linda answered <see cref="Pushed"/> or <see cref="AlreadyExists"/>: until then it stays in
/// RabbitMQ, unacknowledged, and at most <see cref="RabbitMqBridgeOptions.Prefetch"/> of a queue's messages
/// are held so (the back-pressure window).
/// </summary>
/// <remarks>
/// <para><b>Exactly one job per message id.</b> A job's id is its message's (<see cref="RabbitMqHeaders.Id"/>),
/// and it carries the unique key <see cref="DedupKey"/> for <see cref="RabbitMqBridgeOptions.DedupFor"/>
/// after it ended: a message delivered again (the connection was lost before the acknowledgement, the
/// bridge was killed, the producer published it twice) is answered <see cref="AlreadyExists"/> and
/// acknowledged, never run twice. A message without any id gets one from Linda and is at least once.</para>
/// <para><b>Never lost.</b> When Linda can't take a message (unavailable, a failed write, no answer in
/// <see cref="RabbitMqBridgeOptions.PushTimeout"/>), the bridge holds it unacknowledged and tries again
/// after a growing pause. When the connection is lost (RabbitMQ restarted, the network), what was
/// unacknowledged goes back to its queue in RabbitMQ, and the bridge connects again and goes on; what
/// comes back is recognized by its id.</para>
/// <para><b>Refusals are dead-lettered with their reason.</b> A message that can't be a job (its body or a
/// header can't be read) or that Linda refuses (too big, an invalid id, ...) is published, with confirms,
/// to the dead-letter exchange (<see cref="RabbitMqBridgeOptions.DeadLetterExchange"/>) with the reason in
/// <see cref="RabbitMqHeaders.RefusedReason"/>, and only then acknowledged; the others flow on. One the
/// exchange routes nowhere is held and tried again, not dropped.</para>
/// <para><b>Outcomes</b> (optional, <see cref="RabbitMqBridgeOptions.OutcomeExchange"/>): completions and
/// burials of jobs of the bridged Linda queues that this node hosts, published at most once.</para>
/// </remarks>
public sealed class RabbitMqBridge : IAsyncDisposable
{
    private readonly RabbitMqBridgeOptions _options;
    private readonly ILindaClient _linda;
    private readonly ILoggingAdapter _log;
    private readonly TimeProvider _time;
    private readonly ConnectionFactory _factory;
    private readonly CancellationTokenSource _stop = new();
    private readonly OutcomePublisher? _outcomes;
    private volatile Session? _session;
    private Task? _loop;
    private long _moved;
    private long _duplicates;
    private long _refused;
    private long _retries;
    private long _connections;
    private int _maxUnacked;

    /// <summary>
    /// A bridge that pushes through <paramref name="linda"/> (a <c>WithLinda</c> node's client, or any
    /// other: Linda.Server's makes a tube per queue) on <paramref name="system"/>; <see cref="StartAsync"/>
    /// starts it. <paramref name="time"/> dates what it dead-letters (<b>Default:</b> the system clock).
    /// </summary>
    /// <exception cref="ArgumentException">An option is wrong (the message names it), or outcomes are asked for while <c>linda.queue.outcome-events</c> is off.</exception>
    public RabbitMqBridge(RabbitMqBridgeOptions options, ILindaClient linda, ActorSystem system, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(linda);
        ArgumentNullException.ThrowIfNull(system);
        options.Validate();
        if (options.OutcomeExchange is not null && !LindaSettings.Create(system).OutcomeEvents)
            throw new ArgumentException("OutcomeExchange is set but linda.queue.outcome-events is off, so no queue tells its outcomes: set it on (WithRabbitMqBridge does)", nameof(options));
        _options = options;
        _linda = linda;
        _time = time ?? TimeProvider.System;
        _log = Logging.GetLogger(system, "linda-rabbitmq-bridge");
        _factory = new ConnectionFactory
        {
            Uri = new Uri(options.Url),
            ClientProvidedName = options.ClientName,
            // The bridge connects again itself: a new connection, new channels, its own checks, and
            // every unacknowledged delivery of the old one forgotten (RabbitMQ delivers them again).
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
        };
        if (options.OutcomeExchange is { } exchange)
            _outcomes = new OutcomePublisher(options, exchange, system, _log, () => _session?.OpenPublisher, _stop.Token);
    }

    /// <summary>Messages that became jobs (or were already one: <see cref="Duplicates"/>) and were acknowledged.</summary>
    public long Moved => Interlocked.Read(ref _moved);

    /// <summary>Of <see cref="Moved"/>, messages whose job Linda already had (a redelivery, a second publish of the same id).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Messages dead-lettered with their reason (unreadable, or refused by Linda) and acknowledged.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Tries that Linda or RabbitMQ could not take and that were made again (the message held meanwhile).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Connections made to RabbitMQ (1 until one is lost and made again).</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Messages held unacknowledged now, on the current connection.</summary>
    public int Unacked => _session is { } s ? Volatile.Read(ref s.Unacked) : 0;

    /// <summary>The most messages held unacknowledged at once on one connection since the bridge started (at most <see cref="RabbitMqBridgeOptions.Prefetch"/> per queue).</summary>
    public int MaxUnacked => Volatile.Read(ref _maxUnacked);

    /// <summary>Outcomes published to the outcome exchange (0 without one).</summary>
    public long OutcomesPublished => _outcomes?.Published ?? 0;

    /// <summary>Outcomes dropped because more than <see cref="RabbitMqBridgeOptions.OutcomeBuffer"/> waited for RabbitMQ.</summary>
    public long OutcomesDropped => _outcomes?.Dropped ?? 0;

    /// <summary>
    /// The unique key a bridged job carries in Linda: while the job is in its queue, and for
    /// <see cref="RabbitMqBridgeOptions.DedupFor"/> after it ended, a message with the same id is answered
    /// <see cref="AlreadyExists"/> (so a redelivery never runs the job twice).
    /// </summary>
    public static string DedupKey(string jobId) => "amqp:" + jobId;

    /// <summary>
    /// Connects, checks the queues and exchanges, and starts consuming in the background. Later losses
    /// of the connection are made good by the bridge itself; this first one is not.
    /// </summary>
    /// <exception cref="InvalidOperationException">RabbitMQ can't be reached, refuses the credentials, or lacks a queue or exchange the options name (the message says which).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_loop is not null)
            throw new InvalidOperationException("the bridge is started already");
        Session first;
        try
        {
            first = await ConnectAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException and not InvalidOperationException)
        {
            throw new InvalidOperationException($"the RabbitMQ bridge can't connect to {Redacted(_options.Url)}: {e.Message}", e);
        }
        _session = first;
        _outcomes?.Start();
        _loop = Task.Run(() => RunAsync(first, _stop.Token));
        _log.Info("rabbitmq bridge: taking {0} from {1} (prefetch {2})", string.Join(", ", _options.Queues.Select(q => q.Name == q.LindaQueueName ? q.Name : $"{q.Name} into {q.LindaQueueName}")), Redacted(_options.Url), _options.Prefetch);
    }

    /// <summary>Waits for the connection to be lost, then connects again (with a growing pause) until stopped.</summary>
    private async Task RunAsync(Session session, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var why = await session.Closed.Task.WaitAsync(stop);
                _session = null;
                _log.Warning("rabbitmq bridge: lost RabbitMQ ({0}); {1} unacknowledged messages go back to their queues; connecting again", why, Volatile.Read(ref session.Unacked));
                await session.DisposeAsync();
                var pause = _options.ReconnectDelay;
                while (true)
                {
                    await Task.Delay(pause, stop);
                    try
                    {
                        session = await ConnectAsync(stop);
                        _session = session;
                        _log.Info("rabbitmq bridge: connected again to {0}", Redacted(_options.Url));
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
                    {
                        pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, _options.ReconnectDelay.Ticks * MaxReconnectFactor));
                        _log.Warning("rabbitmq bridge: can't connect to {0} ({1}); trying again in {2}", Redacted(_options.Url), e.Message, pause);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // stopped: DisposeAsync closes the last session
        }
    }

    // The longest pause between connection attempts, as a multiple of ReconnectDelay.
    private const int MaxReconnectFactor = 10;

    /// <summary>One connection: a channel with confirms for what the bridge publishes, one consuming every queue, and the checks.</summary>
    private async Task<Session> ConnectAsync(CancellationToken cancellationToken)
    {
        var connection = await _factory.CreateConnectionAsync(cancellationToken);
        var session = new Session(connection);
        try
        {
            connection.ConnectionShutdownAsync += (_, e) => session.Close($"connection closed: {e.ReplyText}");
            var publisher = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            session.Publisher = publisher;
            publisher.ChannelShutdownAsync += (_, e) => session.Close($"publishing channel closed: {e.ReplyText}");
            if (_options.DeadLetterExchange is null)
            {
                await publisher.ExchangeDeclareAsync(RabbitMqBridgeOptions.DefaultDeadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
                await publisher.QueueDeclareAsync(RabbitMqBridgeOptions.DefaultDeadLetterQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
                await publisher.QueueBindAsync(RabbitMqBridgeOptions.DefaultDeadLetterQueue, RabbitMqBridgeOptions.DefaultDeadLetterExchange, "", cancellationToken: cancellationToken);
            }
            else
            {
                await CheckExchangeAsync(connection, _options.DeadLetterExchange, nameof(RabbitMqBridgeOptions.DeadLetterExchange), cancellationToken);
            }
            if (_options.OutcomeExchange is { } outcomes)
                await CheckExchangeAsync(connection, outcomes, nameof(RabbitMqBridgeOptions.OutcomeExchange), cancellationToken);

            var consumer = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            session.Consumer = consumer;
            session.Acks = new AckWindow((tag, multiple) => consumer.BasicAckAsync(tag, multiple, CancellationToken.None).AsTask());
            consumer.ChannelShutdownAsync += (_, e) => session.Close($"consuming channel closed: {e.ReplyText}");
            await consumer.BasicQosAsync(0, (ushort)_options.Prefetch, global: false, cancellationToken);
            foreach (var queue in _options.Queues)
                await CheckQueueAsync(connection, queue.Name, cancellationToken);
            foreach (var queue in _options.Queues)
            {
                var consuming = new AsyncEventingBasicConsumer(consumer);
                consuming.ReceivedAsync += (_, delivery) => OnDeliveryAsync(session, queue, delivery);
                consuming.UnregisteredAsync += (_, _) => session.Stopping ? Task.CompletedTask : session.Close($"RabbitMQ cancelled the consumer of '{queue.Name}' (was the queue deleted?)");
                session.ConsumerTags.Add(await consumer.BasicConsumeAsync(queue.Name, autoAck: false, consuming, cancellationToken));
            }
            Interlocked.Increment(ref _connections);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>A passive declare on a channel of its own (a missing exchange closes the channel it is asked on).</summary>
    private static async Task CheckExchangeAsync(IConnection connection, string exchange, string option, CancellationToken cancellationToken)
    {
        if (exchange.Length == 0)
            return; // the default exchange always exists
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await channel.ExchangeDeclarePassiveAsync(exchange, cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
        {
            throw new InvalidOperationException($"RabbitMQ has no exchange '{exchange}' ({option}): declare it, with a queue bound to it");
        }
    }

    private static async Task CheckQueueAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
        {
            throw new InvalidOperationException($"RabbitMQ has no queue '{queue}': the bridge takes only queues that exist (producers declare them)");
        }
    }

    // AMQP's reply code for a queue or exchange that does not exist.
    private const int NotFound = 404;

    /// <summary>A delivery: read at once (its body is the client's only until this returns), then pushed in the background.</summary>
    private Task OnDeliveryAsync(Session session, BridgedQueue queue, BasicDeliverEventArgs delivery)
    {
        Interlocked.Increment(ref session.Handling);
        var unacked = Interlocked.Increment(ref session.Unacked);
        for (var max = Volatile.Read(ref _maxUnacked); unacked > max; max = Volatile.Read(ref _maxUnacked))
        {
            if (Interlocked.CompareExchange(ref _maxUnacked, unacked, max) == max)
                break;
        }
        var body = delivery.Body.ToArray();
        var (push, refusal) = MessageReader.Read(queue.LindaQueueName, delivery.BasicProperties, body, _options);
        var message = new Message(session, queue, delivery.DeliveryTag, delivery.RoutingKey, delivery.BasicProperties, body);
        _ = HandleAsync(message, push, refusal);
        return Task.CompletedTask;
    }

    /// <summary>Pushes (or dead-letters) one message until it is done, then acknowledges it; gives up only when its connection is gone (it is back in RabbitMQ then).</summary>
    private async Task HandleAsync(Message m, Push? push, string? refusal)
    {
        var pause = _options.RetryDelay;
        var acked = false;
        try
        {
            while (!m.Session.Gone.IsCancellationRequested)
            {
                var (done, refused, retry) = refusal is not null ? await DeadLetterAsync(m, refusal) : await PushAsync(m, push!);
                if (done)
                {
                    // Out of the window before the ack goes: RabbitMQ's next delivery may arrive before this method goes on.
                    Interlocked.Decrement(ref m.Session.Unacked);
                    acked = true;
                    await AckAsync(m);
                    return;
                }
                if (refused is not null)
                {
                    refusal = refused; // dead-lettered next, at once
                    continue;
                }
                if (m.Session.Gone.IsCancellationRequested)
                    return; // back in RabbitMQ
                Interlocked.Increment(ref _retries);
                Held(m, pause, retry!);
                await Task.Delay(pause, m.Session.Gone.Token);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, _options.RetryDelayMax.Ticks));
            }
        }
        catch (OperationCanceledException) when (m.Session.Gone.IsCancellationRequested)
        {
            // the connection is gone: RabbitMQ delivers the message again, and its id is recognized
        }
        catch (Exception e)
        {
            // A bug, not a state of RabbitMQ or Linda: the message goes back to its queue rather than keep its slot.
            _log.Error(e, "rabbitmq bridge: message {0} of '{1}' given back to RabbitMQ after an error", m.Describe(), m.Queue.Name);
            try
            {
                await m.Session.Consumer!.BasicNackAsync(m.Tag, multiple: false, requeue: true);
                await m.Session.Acks.SkipAsync(m.Tag);
            }
            catch (Exception nack) when (nack is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
            {
                // the connection is gone: it comes back anyway
            }
        }
        finally
        {
            if (!acked)
                Interlocked.Decrement(ref m.Session.Unacked);
            m.Session.Settled();
        }
    }

    /// <summary>Says a message is held: a warning at most every <see cref="HeldWarningEvery"/> (a whole window may be held at once), else at debug level.</summary>
    private void Held(Message m, TimeSpan pause, string why)
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastHeldWarning);
        if ((last == NeverWarned || _time.GetElapsedTime(last, now) >= HeldWarningEvery) && Interlocked.CompareExchange(ref _lastHeldWarning, now, last) == last)
            _log.Warning("rabbitmq bridge: holding unacknowledged messages ({0} now), each tried again after a pause (up to {1}); message {2} of '{3}': {4}", Unacked, _options.RetryDelayMax, m.Describe(), m.Queue.Name, why);
        else
            _log.Debug("rabbitmq bridge: message {0} of '{1}' held, trying again in {2}: {3}", m.Describe(), m.Queue.Name, pause, why);
    }

    // How often a held message is told as a warning.
    private static readonly TimeSpan HeldWarningEvery = TimeSpan.FromSeconds(5);
    private const long NeverWarned = long.MinValue;
    private long _lastHeldWarning = NeverWarned;

    private async Task<(bool Done, string? Refused, string? Retry)> PushAsync(Message m, Push push)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(m.Session.Gone.Token);
        timeout.CancelAfter(_options.PushTimeout);
        IReply reply;
        try
        {
            reply = await _linda.PushAsync(push, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !m.Session.Gone.IsCancellationRequested)
        {
            return (false, null, $"no answer from Linda within {_options.PushTimeout}");
        }
        catch (Exception e)
        {
            return (false, null, $"no answer from Linda: {e.GetType().Name}: {e.Message}");
        }
        switch (reply)
        {
            case Pushed:
                Interlocked.Increment(ref _moved);
                return (true, null, null);
            case AlreadyExists:
                Interlocked.Increment(ref _moved);
                Interlocked.Increment(ref _duplicates);
                return (true, null, null);
            case Rejected { Reason: RejectReason.InvalidQueueName } r:
                return (false, null, $"Linda has no queue '{push.Queue}' ({r.Message}): a configuration to fix; the messages wait"); // not the message's fault
            case Rejected r:
                return (false, $"Linda refused the job: {r.Message}", null);
            case IFailure f:
                return (false, null, $"Linda could not take it: {f.Message}"); // unavailable, a failed write: nothing changed
            default:
                return (false, null, $"unexpected reply {reply.GetType().Name}");
        }
    }

    /// <summary>Publishes a copy with the reason to the dead-letter exchange, confirmed and routed (mandatory), before the original is acknowledged.</summary>
    private async Task<(bool Done, string? Refused, string? Retry)> DeadLetterAsync(Message m, string reason)
    {
        if (m.Session.OpenPublisher is not { } publisher)
            return (false, null, "no channel to publish the dead letter on");
        var properties = new BasicProperties(m.Properties) { Persistent = true };
        var headers = m.Properties.Headers is { } original ? new Dictionary<string, object?>(original) : [];
        headers[RabbitMqHeaders.RefusedReason] = reason;
        headers[RabbitMqHeaders.RefusedQueue] = m.Queue.Name;
        headers[RabbitMqHeaders.RefusedAt] = _time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        properties.Headers = headers;
        var exchange = _options.DeadLetterExchangeInUse;
        try
        {
            await publisher.BasicPublishAsync(exchange, _options.DeadLetterRoutingKey ?? m.RoutingKey, mandatory: true, properties, m.Body, m.Session.Gone.Token);
        }
        catch (PublishException e) when (e.IsReturn)
        {
            return (false, null, $"the dead-letter exchange '{exchange}' routes it nowhere (bind a queue to it); refused because {reason}");
        }
        catch (PublishException)
        {
            return (false, null, $"RabbitMQ did not confirm the dead letter; refused because {reason}");
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            return (false, null, $"the dead letter could not be published ({e.Message}); refused because {reason}");
        }
        Interlocked.Increment(ref _refused);
        _log.Warning("rabbitmq bridge: message {0} of '{1}' dead-lettered to '{2}': {3}", m.Describe(), m.Queue.Name, exchange, reason);
        return (true, null, null);
    }

    private async Task AckAsync(Message m)
    {
        try
        {
            await m.Session.Acks.AckAsync(m.Tag);
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
        {
            // The connection went between Linda's answer and the acknowledgement: RabbitMQ delivers the
            // message again, and Linda answers AlreadyExists for its id.
            _log.Debug("rabbitmq bridge: message {0} not acknowledged ({1}); it comes back and is recognized", m.Describe(), e.Message);
        }
    }

    /// <summary>
    /// Stops: no new deliveries, the messages being pushed get <see cref="RabbitMqBridgeOptions.StopGrace"/>
    /// to be answered and acknowledged, then the connection closes (what is left goes back to RabbitMQ);
    /// outcomes not yet published are dropped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_session is { } session)
        {
            await session.StopConsumingAsync();
            await session.Drained.Task.WaitAsync(_options.StopGrace).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop;
        if (_outcomes is not null)
            await _outcomes.DisposeAsync();
        if (_session is { } last)
            await last.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>The URL without its password, for logs.</summary>
    private static string Redacted(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Contains(':')
            ? url.Replace(uri.UserInfo, uri.UserInfo[..uri.UserInfo.IndexOf(':')] + ":***", StringComparison.Ordinal)
            : url;

    /// <summary>One delivered message, as the bridge keeps it until it is acknowledged.</summary>
    private sealed record Message(Session Session, BridgedQueue Queue, ulong Tag, string RoutingKey, IReadOnlyBasicProperties Properties, byte[] Body)
    {
        public string Describe() => Properties.IsMessageIdPresent() ? $"'{Properties.MessageId}'" : $"#{Tag}";
    }

    /// <summary>One connection and its channels, and the messages it holds unacknowledged.</summary>
    private sealed class Session(IConnection connection) : IAsyncDisposable
    {
        /// <summary>Delivered and not yet acknowledged: what RabbitMQ's prefetch window counts.</summary>
        public int Unacked;

        /// <summary>Delivered and not yet done with (acknowledged, or given up with the connection): what a stop waits for.</summary>
        public int Handling;
        private int _closed;

        public IConnection Connection { get; } = connection;

        public IChannel? Publisher { get; set; }

        public IChannel? Consumer { get; set; }

        /// <summary>The consuming channel's acknowledgements, many with one frame (made with <see cref="Consumer"/>).</summary>
        public AckWindow Acks { get; set; } = null!;

        public List<string> ConsumerTags { get; } = [];

        /// <summary>Completed, with the reason, when the connection or one of its channels closes.</summary>
        public TaskCompletionSource<string> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Cancelled when the connection is gone: what it held is back in RabbitMQ.</summary>
        public CancellationTokenSource Gone { get; } = new();

        /// <summary>Completed once nothing is held after <see cref="StopConsumingAsync"/>.</summary>
        public TaskCompletionSource Drained { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Stopping { get; private set; }

        public IChannel? OpenPublisher => Publisher is { IsOpen: true } p && !Gone.IsCancellationRequested ? p : null;

        public Task Close(string why)
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                Gone.Cancel();
                Closed.TrySetResult(why);
            }
            return Task.CompletedTask;
        }

        /// <summary>A delivered message is done with (acknowledged, or given up with its connection).</summary>
        public void Settled()
        {
            if (Interlocked.Decrement(ref Handling) == 0 && Stopping)
                Drained.TrySetResult();
        }

        public async Task StopConsumingAsync()
        {
            Stopping = true;
            foreach (var tag in ConsumerTags)
            {
                try
                {
                    if (Consumer is { IsOpen: true } consumer)
                        await consumer.BasicCancelAsync(tag, noWait: false);
                }
                catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException or TimeoutException)
                {
                    break; // the connection is gone: nothing more comes anyway
                }
            }
            if (Volatile.Read(ref Handling) == 0)
                Drained.TrySetResult();
        }

        public async ValueTask DisposeAsync()
        {
            Stopping = true;
            await Close("the bridge stopped");
            try
            {
                await Connection.CloseAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException or TimeoutException)
            {
                // gone already
            }
            Connection.Dispose();
        }
    }
}
