namespace Linda.RabbitMQ;

/// <summary>
/// What the RabbitMQ bridge takes, from where, and what it does with what Linda refuses. Checked when a
/// <see cref="RabbitMqBridge"/> is made: a bad value is an <see cref="ArgumentException"/> naming the option.
/// </summary>
public sealed class RabbitMqBridgeOptions
{
    /// <summary>The dead-letter exchange the bridge declares when <see cref="DeadLetterExchange"/> is not set (durable, fanout).</summary>
    public const string DefaultDeadLetterExchange = "linda.refused";

    /// <summary>The durable queue the bridge binds to <see cref="DefaultDeadLetterExchange"/>, so a refused message is never dropped.</summary>
    public const string DefaultDeadLetterQueue = "linda.refused";

    /// <summary>The RabbitMQ server: <c>amqp://user:password@host:port/vhost</c> (or <c>amqps://</c>). <b>Default:</b> <c>amqp://guest:guest@127.0.0.1:5672/</c>.</summary>
    public string Url { get; set; } = "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>
    /// The RabbitMQ queues to take, each into the Linda queue of the same name unless it names another:
    /// <c>Queues = ["orders", new("mail-out", "mail")]</c>. The queues must exist (producers declare them):
    /// the bridge only checks them, so their arguments (quorum, dead-letter policies, ...) stay as they are.
    /// </summary>
    public IReadOnlyList<BridgedQueue> Queues { get; set; } = [];

    /// <summary>
    /// The back-pressure window: the most messages of one queue the bridge holds unacknowledged
    /// (RabbitMQ's prefetch count, per consumer). What Linda has not answered yet stays in RabbitMQ
    /// beyond it. <b>Default:</b> 256 (measured into one Linda queue on SQLite: 10 moves ~6,000 messages/s,
    /// 100 ~20,000, 256 ~20,000–30,000, as fast as RabbitMQ's own consumer and Linda's own pushes here; 500
    /// and 1,000 gained nothing).
    /// </summary>
    public int Prefetch { get; set; } = 256;

    /// <summary>
    /// How long a job's id stays known to Linda after the job ended, so that a message delivered again
    /// (a redelivery after a lost connection, a producer's second publish of the same message id) is
    /// recognized and not run twice. <b>Default:</b> 1 day.
    /// </summary>
    public TimeSpan DedupFor { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// True: a message with neither a message-id nor an <see cref="RabbitMqHeaders.Id"/> header is refused
    /// (dead-lettered) rather than given an id by Linda. <b>Default:</b> false: such a message becomes a job
    /// with an id Linda makes, at least once (a redelivery makes a second job: nothing names the first).
    /// </summary>
    public bool RequireId { get; set; }

    /// <summary>
    /// Where refused messages go: the exchange (it must exist) to which a refused message is published,
    /// with confirms and its reason in <see cref="RabbitMqHeaders.RefusedReason"/>, before the original is
    /// acknowledged. <b>Default:</b> null: <see cref="DefaultDeadLetterExchange"/>, which the bridge declares
    /// with the queue <see cref="DefaultDeadLetterQueue"/> bound to it.
    /// </summary>
    public string? DeadLetterExchange { get; set; }

    /// <summary>The routing key of a dead-lettered message. <b>Default:</b> null: the routing key it was published with (as RabbitMQ's own dead-lettering does).</summary>
    public string? DeadLetterRoutingKey { get; set; }

    /// <summary>
    /// Where outcomes go: the exchange (it must exist; a topic exchange suits) to which each completion and
    /// burial of a job in the bridged Linda queues hosted on this node is published, as JSON
    /// (<c>{"queue", "id", "class", "outcome", "reason", "at", "attempts"}</c>, routing key
    /// <c>&lt;queue&gt;.&lt;outcome&gt;</c>: <c>orders.completed</c>, <c>orders.buried</c>). At most once:
    /// see <see cref="JobQueue.JobEnded"/>. Needs <c>linda.queue.outcome-events = on</c>, which
    /// <c>WithRabbitMqBridge</c> sets. <b>Default:</b> null: no outcomes are published.
    /// </summary>
    public string? OutcomeExchange { get; set; }

    /// <summary>Publish completions to <see cref="OutcomeExchange"/>. <b>Default:</b> true.</summary>
    public bool PublishCompletions { get; set; } = true;

    /// <summary>Publish burials to <see cref="OutcomeExchange"/>. <b>Default:</b> true.</summary>
    public bool PublishBurials { get; set; } = true;

    /// <summary>The most outcomes waiting to be published (while RabbitMQ is away); beyond it the oldest are dropped and counted. <b>Default:</b> 10,000.</summary>
    public int OutcomeBuffer { get; set; } = 10_000;

    /// <summary>How long one push waits for Linda's answer before the bridge tries it again (the message stays unacknowledged). <b>Default:</b> 30 s.</summary>
    public TimeSpan PushTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The first pause before a push Linda could not take (unavailable, a failed write, no answer), or a
    /// dead letter RabbitMQ did not confirm, is tried again; it doubles up to <see cref="RetryDelayMax"/>.
    /// The message stays unacknowledged meanwhile: never lost, and its prefetch slot stays taken.
    /// <b>Default:</b> 200 ms.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest pause between tries of one message. <b>Default:</b> 10 s.</summary>
    public TimeSpan RetryDelayMax { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first pause before the bridge connects again after losing RabbitMQ; it doubles up to 10 times as long. <b>Default:</b> 500 ms.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>At stop, how long the messages being pushed get to be answered and acknowledged before the connection closes (the rest come back from RabbitMQ). <b>Default:</b> 5 s (within coordinated shutdown's service-unbind phase).</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The connection's name in RabbitMQ's management views. <b>Default:</b> <c>linda-rabbitmq-bridge</c>.</summary>
    public string ClientName { get; set; } = "linda-rabbitmq-bridge";

    /// <summary>The dead-letter exchange in use: <see cref="DeadLetterExchange"/> or <see cref="DefaultDeadLetterExchange"/>.</summary>
    internal string DeadLetterExchangeInUse => DeadLetterExchange ?? DefaultDeadLetterExchange;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option that is wrong.</summary>
    public void Validate()
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps") || uri.Host.Length == 0)
            throw new ArgumentException($"Url '{Url}' is not an AMQP URL: amqp://user:password@host:port/vhost (or amqps://)", nameof(Url));
        if (Queues is not { Count: > 0 })
            throw new ArgumentException("Queues is empty: name at least one RabbitMQ queue to take", nameof(Queues));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var queue in Queues)
        {
            if (queue is null || string.IsNullOrEmpty(queue.Name) || System.Text.Encoding.UTF8.GetByteCount(queue.Name) > MaxAmqpName)
                throw new ArgumentException($"Queues has a RabbitMQ queue name '{queue?.Name}' that is empty or longer than {MaxAmqpName} bytes", nameof(Queues));
            if (!seen.Add(queue.Name))
                throw new ArgumentException($"Queues names the RabbitMQ queue '{queue.Name}' twice", nameof(Queues));
            if (Names.Check(queue.LindaQueueName, "Linda queue name") is { } invalid)
                throw new ArgumentException($"Queues: '{queue.Name}' goes into an invalid Linda queue: {invalid}", nameof(Queues));
        }
        if (Prefetch is < 1 or > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(Prefetch), Prefetch, $"Prefetch must be between 1 and {ushort.MaxValue} (RabbitMQ's prefetch count)");
        Positive(DedupFor, nameof(DedupFor));
        Positive(PushTimeout, nameof(PushTimeout));
        Positive(RetryDelay, nameof(RetryDelay));
        Positive(ReconnectDelay, nameof(ReconnectDelay));
        if (RetryDelayMax < RetryDelay)
            throw new ArgumentOutOfRangeException(nameof(RetryDelayMax), RetryDelayMax, $"RetryDelayMax must be at least RetryDelay ({RetryDelay})");
        if (StopGrace < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(StopGrace), StopGrace, "StopGrace can't be negative");
        if (OutcomeBuffer < 1)
            throw new ArgumentOutOfRangeException(nameof(OutcomeBuffer), OutcomeBuffer, "OutcomeBuffer must be at least 1");
        ExchangeName(DeadLetterExchange, nameof(DeadLetterExchange));
        ExchangeName(OutcomeExchange, nameof(OutcomeExchange));
        if (DeadLetterRoutingKey is { } key && System.Text.Encoding.UTF8.GetByteCount(key) > MaxAmqpName)
            throw new ArgumentException($"DeadLetterRoutingKey is longer than {MaxAmqpName} bytes", nameof(DeadLetterRoutingKey));
        if (OutcomeExchange is not null && !PublishCompletions && !PublishBurials)
            throw new ArgumentException("OutcomeExchange is set but neither PublishCompletions nor PublishBurials: nothing would be published", nameof(OutcomeExchange));
    }

    // AMQP 0-9-1's short strings (queue, exchange names, routing keys).
    private const int MaxAmqpName = 255;

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
    }

    private static void ExchangeName(string? name, string option)
    {
        // "" is RabbitMQ's default exchange, which routes by queue name: allowed, but it can't be declared or checked.
        if (name is not null && System.Text.Encoding.UTF8.GetByteCount(name) > MaxAmqpName)
            throw new ArgumentException($"{option} is longer than {MaxAmqpName} bytes", option);
    }
}

/// <summary>A RabbitMQ queue the bridge takes, and the Linda queue its messages go into (the same name unless given).</summary>
/// <param name="Name">The RabbitMQ queue.</param>
/// <param name="LindaQueue">The Linda queue; null: the same name as the RabbitMQ queue.</param>
public sealed record BridgedQueue(string Name, string? LindaQueue = null)
{
    /// <summary>The Linda queue its messages go into.</summary>
    public string LindaQueueName => LindaQueue ?? Name;

    /// <summary>A RabbitMQ queue taken into the Linda queue of the same name.</summary>
    public static implicit operator BridgedQueue(string name) => new(name);
}
