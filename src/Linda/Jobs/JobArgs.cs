using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Linda;

/// <summary>
/// Names the job class of a typed job's args (a record, usually): <c>[JobClass("sendWelcome")]</c>.
/// Without it the class is the type's name. <see cref="Queue"/> names the queue a typed push goes to
/// when the push doesn't say.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class JobClassAttribute(string name) : Attribute
{
    /// <summary>The job class.</summary>
    public string Name { get; } = name;

    /// <summary>The queue a push of these args goes to by default; null: the application's first queue.</summary>
    public string? Queue { get; init; }
}

/// <summary>
/// Typed jobs: a C# type (a record) as a job's args. The payload's args are a JSON array of one
/// element, the value serialized with System.Text.Json, so a seed-style handler on the JSON
/// (<c>ctx.Args[0]</c>) and a typed one can share a queue. Reading is strict: a member the type
/// doesn't have, a constructor parameter the JSON lacks, or a null where the type says non-null
/// fails (a renamed field is found, not silently defaulted).
/// </summary>
public static class JobArgs
{
    private static readonly ConcurrentDictionary<Type, (string Class, string? Queue)> Names = new();

    /// <summary>How typed args are written (System.Text.Json's defaults, as <see cref="JobPayload.Create"/>).</summary>
    public static JsonSerializerOptions WriteOptions { get; } = new();

    /// <summary>How typed args are read: strictly.</summary>
    public static JsonSerializerOptions ReadOptions { get; } = new()
    {
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The job class of <typeparamref name="TArgs"/>: its <see cref="JobClassAttribute"/>, else its name.</summary>
    public static string ClassOf<TArgs>() => Of(typeof(TArgs)).Class;

    /// <summary>The job class of <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">A generic type without a <see cref="JobClassAttribute"/> (its name is not stable).</exception>
    public static string ClassOf(Type type) => Of(type).Class;

    /// <summary>The queue <see cref="JobClassAttribute.Queue"/> names for <paramref name="type"/>, or null.</summary>
    public static string? QueueOf(Type type) => Of(type).Queue;

    /// <summary>The payload of a typed job: its class and the args as a one-element JSON array.</summary>
    public static JobPayload Payload<TArgs>(TArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return JobPayload.FromUtf8Json(ClassOf<TArgs>(), JsonSerializer.SerializeToUtf8Bytes(new[] { args }, WriteOptions));
    }

    /// <summary>Reads a job's args back as <typeparamref name="TArgs"/>; false with the reason when they can't be.</summary>
    public static bool TryRead<TArgs>(JobPayload payload, out TArgs args, out string error)
    {
        args = default!;
        if (payload.IsRaw)
        {
            error = $"the payload is raw bytes, not the JSON of {typeof(TArgs).Name}";
            return false;
        }
        var array = payload.ParseArgs();
        if (array.GetArrayLength() != 1)
        {
            error = $"a typed job has one arg ({typeof(TArgs).Name}), not {array.GetArrayLength()}";
            return false;
        }
        try
        {
            var value = array[0].Deserialize<TArgs>(ReadOptions);
            if (value is null)
            {
                error = $"the arg is null, not a {typeof(TArgs).Name}";
                return false;
            }
            args = value;
            error = "";
            return true;
        }
        catch (JsonException e)
        {
            error = $"can't read the arg as {typeof(TArgs).Name}: {e.Message}";
            return false;
        }
    }

    private static (string Class, string? Queue) Of(Type type) => Names.GetOrAdd(type, t =>
    {
        var attribute = t.GetCustomAttribute<JobClassAttribute>();
        if (attribute is not null)
            return (attribute.Name, attribute.Queue);
        if (t.IsGenericType)
            throw new ArgumentException($"{t} is generic: give it [JobClass(\"name\")] for a stable job class", nameof(type));
        return (t.Name, null);
    });
}
