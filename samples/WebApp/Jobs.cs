using Linda.Workers;

/// <summary>The job classes this app pushes and runs on its queue, and their handlers (typed, from DI).</summary>
internal static class Jobs
{
    public const string Queue = "web";
    public const string SendWelcome = "sendWelcome";
    public const string Resize = "resize";
    public const string Flaky = "flaky";

    /// <summary>Every class with a handler here: what <c>POST /jobs/{class}</c> accepts.</summary>
    public static readonly IReadOnlyList<string> Classes = [SendWelcome, Resize, Flaky];

    public static void Register(JobHandlers handlers) => handlers
        .Register<SendWelcomeHandler>(SendWelcome)
        .Register<ResizeHandler>(Resize)
        .Register<FlakyHandler>(Flaky);
}

/// <summary><c>sendWelcome [email]</c>: "sends" the welcome mail (logs it).</summary>
internal sealed class SendWelcomeHandler(ILogger<SendWelcomeHandler> log) : IJobHandler
{
    public Task HandleAsync(JobContext context)
    {
        log.LogInformation("sent welcome to {Email}", context.Arg<string>(0));
        return Task.CompletedTask;
    }
}

/// <summary><c>resize [image]</c>: takes a while, as real work does, so the dashboard shows it reserved.</summary>
internal sealed class ResizeHandler(ILogger<ResizeHandler> log) : IJobHandler
{
    // How long the pretend resize takes.
    private static readonly TimeSpan WorkTime = TimeSpan.FromSeconds(3);

    public async Task HandleAsync(JobContext context)
    {
        var image = context.Arg<string>(0);
        await Task.Delay(WorkTime, context.CancellationToken);
        log.LogInformation("resized {Image} (attempt {Attempt})", image, context.Attempt);
    }
}

/// <summary><c>flaky [n]</c>: fails its first n attempts (1 without args), then works: retries and buried jobs for the dashboard.</summary>
internal sealed class FlakyHandler(ILogger<FlakyHandler> log) : IJobHandler
{
    public Task HandleAsync(JobContext context)
    {
        var failures = context.Args.GetArrayLength() > 0 ? context.Arg<int>(0) : 1;
        if (context.Attempt <= failures)
            throw new InvalidOperationException($"flaky failure on attempt {context.Attempt} (it fails its first {failures})");
        log.LogInformation("flaky {JobId} worked on attempt {Attempt}", context.JobId, context.Attempt);
        return Task.CompletedTask;
    }
}
