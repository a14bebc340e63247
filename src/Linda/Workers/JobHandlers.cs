using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Linda.Workers;

/// <summary>A handler for one job class, resolved from DI in a scope per job.</summary>
public interface IJobHandler
{
    /// <summary>Runs one attempt. Return to complete the job, throw to fail the attempt, or call
    /// <see cref="JobContext.Snooze"/> to run it again later.</summary>
    Task HandleAsync(JobContext context);
}

/// <summary>
/// A handler of typed jobs: the args come back as <typeparamref name="TArgs"/> (see <see cref="JobArgs"/>);
/// resolved from DI in a scope per job. Args that can't be read as <typeparamref name="TArgs"/> bury
/// the job with the reason (no retry would read them better).
/// </summary>
public interface IJobHandler<in TArgs>
{
    /// <summary>Runs one attempt, as <see cref="IJobHandler.HandleAsync"/> does.</summary>
    Task HandleAsync(TArgs args, JobContext context);
}

/// <summary>Thrown by a handler (or by Linda, for args it can't read) to bury the job at once, without retries.</summary>
public sealed class BuryJobException(string reason) : Exception(reason);

/// <summary>
/// The handlers a node runs, by job class: seed-style delegates on the args
/// (<c>RegisterWorker("printArgs", args => ...)</c>) and typed <see cref="IJobHandler"/>s from DI.
/// </summary>
public sealed class JobHandlers
{
    private readonly Dictionary<string, Func<JobContext, Task>> _handlers = new(StringComparer.Ordinal);


    /// <summary>Registers a synchronous handler on the job's args (a JSON array), as the seed's <c>RegisterWorker</c>.</summary>
    public JobHandlers RegisterWorker(string @class, Action<JsonElement> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(@class, ctx =>
        {
            handler(ctx.Args);
            return Task.CompletedTask;
        });
    }

    /// <summary>Registers an asynchronous handler on the job's args (a JSON array).</summary>
    public JobHandlers RegisterWorker(string @class, Func<JsonElement, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(@class, ctx => handler(ctx.Args));
    }

    /// <summary>Registers a handler that gets the whole <see cref="JobContext"/>.</summary>
    public JobHandlers Register(string @class, Func<JobContext, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (string.IsNullOrEmpty(@class))
            throw new ArgumentException("a handler needs a class name", nameof(@class));
        if (!_handlers.TryAdd(@class, handler))
            throw new ArgumentException($"class '{@class}' already has a handler", nameof(@class));
        return this;
    }

    /// <summary>Registers <typeparamref name="THandler"/>, resolved from the job's DI scope (or made with its constructor's services).</summary>
    public JobHandlers Register<THandler>(string @class) where THandler : class, IJobHandler =>
        Register(@class, ctx => ActivatorUtilities.GetServiceOrCreateInstance<THandler>(ctx.Services).HandleAsync(ctx));

    /// <summary>Registers a handler of typed jobs: the class is <typeparamref name="TArgs"/>'s (<see cref="JobArgs.ClassOf{TArgs}"/>).</summary>
    public JobHandlers Register<TArgs>(Func<TArgs, JobContext, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register(JobArgs.ClassOf<TArgs>(), ctx => handler(ctx.ArgsAs<TArgs>(), ctx));
    }

    /// <summary>Registers <typeparamref name="THandler"/> for the typed jobs of <typeparamref name="TArgs"/>, resolved from the job's DI scope.</summary>
    public JobHandlers Register<TArgs, THandler>() where THandler : class, IJobHandler<TArgs> =>
        Register<TArgs>((args, ctx) => ActivatorUtilities.GetServiceOrCreateInstance<THandler>(ctx.Services).HandleAsync(args, ctx));

    internal bool TryGet(string @class, out Func<JobContext, Task> handler) => _handlers.TryGetValue(@class, out handler!);
}
