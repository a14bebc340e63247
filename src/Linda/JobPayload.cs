using System.Text;
using System.Text.Json;

namespace Linda;

/// <summary>
/// What a job asks for: the <see cref="Class"/> of handler to run and its <see cref="Args"/>, a JSON
/// array of values (the seed's <c>Payload{Class, Args}</c>). The arguments are kept as the UTF-8 JSON
/// text they were given in, so a job costs its bytes and nothing more until a handler reads them.
/// </summary>
public sealed class JobPayload : IEquatable<JobPayload>
{
    private readonly byte[] _args;

    private JobPayload(string @class, byte[] args)
    {
        Class = @class;
        _args = args;
    }

    /// <summary>The handler class name, as handlers are registered (for example <c>printArgs</c>).</summary>
    public string Class { get; }

    /// <summary>The arguments as UTF-8 JSON text: always a JSON array.</summary>
    public ReadOnlyMemory<byte> Args => _args;

    /// <summary>The arguments as JSON text.</summary>
    public string ArgsJson => Encoding.UTF8.GetString(_args);

    /// <summary>The size the payload counts against the queue's payload limit: class and args in UTF-8 bytes.</summary>
    public int Size => Encoding.UTF8.GetByteCount(Class) + _args.Length;

    /// <summary>Makes a payload whose args are <paramref name="args"/> serialized with System.Text.Json.</summary>
    public static JobPayload Create(string @class, params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(@class);
        return new JobPayload(@class, JsonSerializer.SerializeToUtf8Bytes(args ?? []));
    }

    /// <summary>Makes a payload from args given as JSON text; they must form a JSON array.</summary>
    /// <exception cref="ArgumentException">The text is not a JSON array.</exception>
    public static JobPayload FromJson(string @class, string argsJson)
    {
        ArgumentNullException.ThrowIfNull(argsJson);
        return FromUtf8Json(@class, Encoding.UTF8.GetBytes(argsJson));
    }

    /// <summary>Makes a payload from args given as UTF-8 JSON bytes; they must form a JSON array.</summary>
    /// <exception cref="ArgumentException">The bytes are not a JSON array.</exception>
    public static JobPayload FromUtf8Json(string @class, ReadOnlySpan<byte> argsJson)
    {
        ArgumentNullException.ThrowIfNull(@class);
        try
        {
            var reader = new Utf8JsonReader(argsJson);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                throw new ArgumentException("job args must be a JSON array", nameof(argsJson));
            reader.Skip();
            if (reader.Read())
                throw new ArgumentException("job args have text after the JSON array", nameof(argsJson));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"job args are not valid JSON: {e.Message}", nameof(argsJson), e);
        }
        return new JobPayload(@class, argsJson.ToArray());
    }

    /// <summary>For the serializer: bytes that were validated when the payload was first made.</summary>
    internal static JobPayload Trusted(string @class, byte[] args) => new(@class, args);

    /// <summary>The args parsed as a JSON array.</summary>
    public JsonElement ParseArgs()
    {
        using var doc = JsonDocument.Parse(_args);
        return doc.RootElement.Clone();
    }

    /// <summary>Arg <paramref name="index"/> converted to <typeparamref name="T"/>.</summary>
    public T? Arg<T>(int index) => ParseArgs()[index].Deserialize<T>();

    /// <inheritdoc />
    public bool Equals(JobPayload? other) =>
        other is not null && Class == other.Class && _args.AsSpan().SequenceEqual(other._args);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as JobPayload);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Class);
        hash.AddBytes(_args);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Class}{ArgsJson}";
}
