using System.Text.Json;

namespace Linda.Beanstalk.Protocol;

/// <summary>
/// The bytes a beanstalkd client gets as a job's body (<c>RESERVED</c>, <c>FOUND</c>). A job put over
/// the beanstalkd port is a raw payload: its body is exactly what was put. A job with a class and JSON
/// args (pushed by a Linda client, or moved in by the Redis or RabbitMQ bridge) has no body of its own:
/// it is given as the JSON <c>{"class": "...", "args": [...]}</c>, so a client in any language can run it.
/// </summary>
public static class JobBody
{
    /// <summary>The body of <paramref name="payload"/> on the wire.</summary>
    public static ReadOnlyMemory<byte> Of(JobPayload payload)
    {
        if (payload.IsRaw)
            return payload.Body;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(payload.Size + 24);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("class"u8, payload.Class);
            json.WritePropertyName("args"u8);
            json.WriteRawValue(payload.Args.Span, skipInputValidation: true); // validated when the job was made
            json.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }
}
