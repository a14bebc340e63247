namespace Linda.Tests.Infrastructure;

/// <summary>Waiting on a condition, polled, with a generous bound: never a fixed sleep.</summary>
public static class Conditions
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Polls <paramref name="probe"/> until it gives a value; throws, naming <paramref name="what"/> (and
    /// adding <paramref name="detail"/>, e.g. logs), after <paramref name="bound"/>.
    /// </summary>
    public static async Task<T> Eventually<T>(Func<Task<T?>> probe, string what, TimeSpan? bound = null, Func<string>? detail = null) where T : class
    {
        var limit = bound ?? Bound;
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } value)
                return value;
            await Task.Delay(50);
        }
        throw new TimeoutException($"waited {limit.TotalSeconds} s for {what}{(detail is null ? "" : "; " + detail())}");
    }

    /// <summary>Polls <paramref name="condition"/> until it holds.</summary>
    public static Task Until(Func<bool> condition, string what, TimeSpan? bound = null, Func<string>? detail = null) =>
        Eventually(() => Task.FromResult(condition() ? what : null), what, bound, detail);

    /// <summary>Polls the asynchronous <paramref name="condition"/> until it holds.</summary>
    public static Task Until(Func<Task<bool>> condition, string what, TimeSpan? bound = null, Func<string>? detail = null) =>
        Eventually(async () => await condition() ? what : null, what, bound, detail);
}
