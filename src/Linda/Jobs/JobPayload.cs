using System.Text;
using System.Text.Json;

namespace Linda;

/// <summary>
/// What a job asks for: the <see cref="Class"/> of handler to run and its <see cref="Args"/>, a JSON
/// array of values (the seed's <c>Payload{Class, Args}</c>). The arguments are kept as the UTF-8 JSON
/// text they were given in, so a job costs its bytes and nothing more until a handler reads them.
/// A <see cref="IsRaw">raw</see> payload carries opaque bytes instead (a beanstalkd job's body), kept
/// exactly as given.
/// </summary>
public sealed class JobPayload : IEquatable<JobPayload>
{
    private readonly byte[] _args;

    private JobPayload(string @class, byte[] args, bool raw = false)
    {
        Class = @class;
        _args = args;
        IsRaw = raw;
    }

    /// <summary>The handler class name, as handlers are registered (for example <c>printArgs</c>).</summary>
    public string Class { get; }

    /// <summary>True for a payload of opaque <see cref="Body"/> bytes rather than JSON args.</summary>
    public bool IsRaw { get; }

    /// <summary>The payload's bytes: the UTF-8 JSON args, or a raw payload's body.</summary>
    public ReadOnlyMemory<byte> Body => _args;

    /// <summary>The arguments as UTF-8 JSON text: always a JSON array.</summary>
    /// <exception cref="InvalidOperationException">The payload is raw (see <see cref="Body"/>).</exception>
    public ReadOnlyMemory<byte> Args => IsRaw ? throw RawHasNoArgs() : _args;

    /// <summary>The arguments as JSON text.</summary>
    /// <exception cref="InvalidOperationException">The payload is raw (see <see cref="Body"/>).</exception>
    public string ArgsJson => IsRaw ? throw RawHasNoArgs() : Encoding.UTF8.GetString(_args);

    private InvalidOperationException RawHasNoArgs() =>
        new($"the payload of class '{Class}' is raw bytes ({_args.Length}), not JSON args: read Body");

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

    /// <summary>Makes a payload of opaque bytes (kept exactly: binary, line breaks and all).</summary>
    public static JobPayload Raw(string @class, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(@class);
        return new JobPayload(@class, body.ToArray(), raw: true);
    }

    /// <summary>For the serializer: bytes that were validated when the payload was first made.</summary>
    internal static JobPayload Trusted(string @class, byte[] args, bool raw = false) => new(@class, args, raw);

    /// <summary>The args parsed as a JSON array.</summary>
    /// <exception cref="InvalidOperationException">The payload is raw.</exception>
    public JsonElement ParseArgs()
    {
        if (IsRaw)
            throw RawHasNoArgs();
        using var doc = JsonDocument.Parse(_args);
        return doc.RootElement.Clone();
    }

    /// <summary>Arg <paramref name="index"/> converted to <typeparamref name="T"/>.</summary>
    public T? Arg<T>(int index) => ParseArgs()[index].Deserialize<T>();

    /// <inheritdoc />
    public bool Equals(JobPayload? other) =>
        other is not null && Class == other.Class && IsRaw == other.IsRaw && _args.AsSpan().SequenceEqual(other._args);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as JobPayload);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Class);
        hash.Add(IsRaw);
        hash.AddBytes(_args);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => IsRaw ? $"{Class}<{_args.Length} raw bytes>" : $"{Class}{ArgsJson}";
}
