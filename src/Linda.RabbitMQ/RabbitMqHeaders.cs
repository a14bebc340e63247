namespace Linda.RabbitMQ;

/// <summary>
/// The AMQP headers the bridge reads from a message (all optional) and the ones it adds to a message it
/// dead-letters. A number may be any AMQP integer type or its decimal digits as a string; times are whole
/// milliseconds. A header that can't be read refuses the message (it is dead-lettered with the reason),
/// rather than pushing a job other than the one the producer meant.
/// </summary>
/// <remarks>
/// The body is the payload: JSON <c>{"class": "sendEmail", "args": ["ada@example.com", 3]}</c> (strict:
/// an object with a non-empty string <c>class</c> and an optional array <c>args</c>, nothing else), or,
/// when <see cref="Class"/> is set, raw bytes kept exactly as published (a handler reads them as the
/// payload's body). AMQP's own <c>priority</c> property (0–9, for priority queues) is not used:
/// Linda's priorities go the other way (0 is the most urgent) and span 0–4294967295.
/// </remarks>
public static class RabbitMqHeaders
{
    /// <summary>The handler class of a raw body (<c>x-linda-class</c>): the body is then kept as bytes, not read as JSON.</summary>
    public const string Class = "x-linda-class";

    /// <summary>
    /// The job id (<c>x-linda-id</c>). <b>Default:</b> the message's <c>message-id</c> property. An id of
    /// digits only (<c>42</c>) becomes <c>amqp-42</c>: Linda keeps digit-only ids for the ids it makes itself.
    /// Without either, Linda makes the id (see <see cref="RabbitMqBridgeOptions.RequireId"/>).
    /// </summary>
    public const string Id = "x-linda-id";

    /// <summary>The job's priority (<c>x-linda-priority</c>): 0 is the most urgent, up to 4294967295. <b>Default:</b> the queue's (1024).</summary>
    public const string Priority = "x-linda-priority";

    /// <summary>How long the job waits before it is ready, in milliseconds from the moment Linda takes it (<c>x-linda-delay</c>). <b>Default:</b> 0.</summary>
    public const string Delay = "x-linda-delay";

    /// <summary>The job's time-to-run (its lease), in milliseconds (<c>x-linda-ttr</c>). <b>Default:</b> the queue's (<c>linda.queue.default-time-to-run</c>).</summary>
    public const string TimeToRun = "x-linda-ttr";

    /// <summary>Retries after the first attempt; negative for no limit (<c>x-linda-retries</c>). <b>Default:</b> the queue's (<c>linda.queue.default-max-retries</c>).</summary>
    public const string Retries = "x-linda-retries";

    /// <summary>The longest one run may take, in milliseconds (<c>x-linda-timeout</c>). <b>Default:</b> the queue's (<c>linda.queue.default-timeout</c>).</summary>
    public const string Timeout = "x-linda-timeout";

    /// <summary>The job's concurrency key (<c>x-linda-concurrency-key</c>; see <c>Push.ConcurrencyKey</c>). <b>Default:</b> none.</summary>
    public const string ConcurrencyKey = "x-linda-concurrency-key";

    /// <summary>Added to a dead-lettered message: why it was refused (<c>x-linda-refused-reason</c>).</summary>
    public const string RefusedReason = "x-linda-refused-reason";

    /// <summary>Added to a dead-lettered message: the RabbitMQ queue it was taken from (<c>x-linda-refused-queue</c>).</summary>
    public const string RefusedQueue = "x-linda-refused-queue";

    /// <summary>Added to a dead-lettered message: when it was refused, ISO 8601 UTC (<c>x-linda-refused-at</c>).</summary>
    public const string RefusedAt = "x-linda-refused-at";
}
