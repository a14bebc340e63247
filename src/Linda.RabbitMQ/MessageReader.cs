using System.Globalization;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using static Linda.JobQueue;

namespace Linda.RabbitMQ;

/// <summary>
/// Turns one AMQP message into the Linda push it asks for (<see cref="RabbitMqHeaders"/> says how), or
/// into the reason it can't be one. Pure: no I/O.
/// </summary>
internal static class MessageReader
{
    /// <summary>The prefix of a digit-only message id in Linda (<c>42</c> → <c>amqp-42</c>).</summary>
    public const string DigitIdPrefix = "amqp-";

    /// <summary>The push for a message of the Linda queue <paramref name="queue"/>, or why there is none.</summary>
    public static (Push? Push, string? Refusal) Read(string queue, IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body, RabbitMqBridgeOptions options)
    {
        var headers = properties.Headers;
        try
        {
            var payload = Header(headers, RabbitMqHeaders.Class) is { } cls
                ? JobPayload.Raw(Text(cls, RabbitMqHeaders.Class) is { Length: > 0 } name ? name : throw new FormatException($"header {RabbitMqHeaders.Class} is empty"), body)
                : ReadJson(body);
            var id = Header(headers, RabbitMqHeaders.Id) is { } given ? Text(given, RabbitMqHeaders.Id)
                : properties.IsMessageIdPresent() && !string.IsNullOrEmpty(properties.MessageId) ? properties.MessageId
                : null;
            if (id is null && options.RequireId)
                return (null, $"the message has no message-id property and no {RabbitMqHeaders.Id} header, and the bridge requires an id");
            if (id is not null)
                id = LindaId(id);
            return (new Push(queue, payload)
            {
                Id = id,
                UniqueKey = id is null ? null : RabbitMqBridge.DedupKey(id),
                UniqueFor = id is null ? null : options.DedupFor,
                Priority = Header(headers, RabbitMqHeaders.Priority) is { } p ? checked((uint)Whole(p, RabbitMqHeaders.Priority, 0, uint.MaxValue)) : null,
                Delay = Header(headers, RabbitMqHeaders.Delay) is { } d ? Millis(d, RabbitMqHeaders.Delay, allowZero: true) : TimeSpan.Zero,
                TimeToRun = Header(headers, RabbitMqHeaders.TimeToRun) is { } ttr ? Millis(ttr, RabbitMqHeaders.TimeToRun, allowZero: false) : null,
                MaxRetries = Header(headers, RabbitMqHeaders.Retries) is { } r ? (int)Whole(r, RabbitMqHeaders.Retries, int.MinValue, int.MaxValue) : null,
                Timeout = Header(headers, RabbitMqHeaders.Timeout) is { } t ? Millis(t, RabbitMqHeaders.Timeout, allowZero: false) : null,
                ConcurrencyKey = Header(headers, RabbitMqHeaders.ConcurrencyKey) is { } k ? Text(k, RabbitMqHeaders.ConcurrencyKey) : null,
            }, null);
        }
        catch (FormatException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>The Linda id of a message id: the same, but digits only (Linda's own ids) get <see cref="DigitIdPrefix"/>.</summary>
    public static string LindaId(string messageId) => Names.IsDigits(messageId) ? DigitIdPrefix + messageId : messageId;

    /// <summary>A JSON body: exactly <c>{"class": "...", "args": [...]}</c> (args optional).</summary>
    private static JobPayload ReadJson(ReadOnlySpan<byte> body)
    {
        const string Form = "a body is JSON {\"class\": \"...\", \"args\": [...]}, or raw bytes with the class in the " + RabbitMqHeaders.Class + " header";
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(body);
            doc = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
                throw new FormatException($"the body has text after its JSON; {Form}");
        }
        catch (JsonException e)
        {
            throw new FormatException($"the body is not JSON ({e.Message}); {Form}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new FormatException($"the body is {Kind(doc.RootElement.ValueKind)}, not a JSON object; {Form}");
            string? cls = null;
            string args = "[]";
            foreach (var member in doc.RootElement.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "class" when member.Value.ValueKind == JsonValueKind.String:
                        cls = member.Value.GetString();
                        break;
                    case "class":
                        throw new FormatException($"the body's \"class\" is {Kind(member.Value.ValueKind)}, not a string");
                    case "args" when member.Value.ValueKind == JsonValueKind.Array:
                        args = member.Value.GetRawText();
                        break;
                    case "args":
                        throw new FormatException($"the body's \"args\" is {Kind(member.Value.ValueKind)}, not an array");
                    default:
                        throw new FormatException($"the body has a member \"{member.Name}\"; {Form}");
                }
            }
            if (string.IsNullOrEmpty(cls))
                throw new FormatException($"the body has no \"class\"; {Form}");
            return JobPayload.FromJson(cls, args);
        }
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static object? Header(IDictionary<string, object?>? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value) ? value : null;

    private static string Text(object value, string name) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes), // AMQP long strings arrive as bytes
        string s => s,
        _ => throw new FormatException($"header {name} is a {value.GetType().Name}, not a string"),
    };

    private static long Whole(object value, string name, long min, long max)
    {
        long n = value switch
        {
            byte or sbyte or short or ushort or int or uint or long => Convert.ToInt64(value, CultureInfo.InvariantCulture),
            byte[] or string when long.TryParse(Text(value, name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) => parsed,
            byte[] or string => throw new FormatException($"header {name} is '{Text(value, name)}', not a whole number"),
            _ => throw new FormatException($"header {name} is a {value.GetType().Name}, not a whole number"),
        };
        return n >= min && n <= max ? n : throw new FormatException($"header {name} is {n}; it must be between {min} and {max}");
    }

    private static TimeSpan Millis(object value, string name, bool allowZero) =>
        TimeSpan.FromMilliseconds(Whole(value, name, allowZero ? 0 : 1, (long)TimeSpan.MaxValue.TotalMilliseconds - 1));
}
