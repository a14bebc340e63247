using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Akka.Hosting;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// An Akka logger that keeps what one ActorSystem logs (from its first line), for specs that assert on
/// what a node was told: <c>more: LogRecorder.Install</c> on <see cref="LindaHost.StartAsync"/>, then
/// <see cref="Of"/> the node's system.
/// </summary>
public sealed class LogRecorder : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private static readonly ConditionalWeakTable<ActorSystem, ConcurrentQueue<string>> Logs = new();

    public LogRecorder()
    {
        var lines = Logs.GetValue(Context.System, _ => new ConcurrentQueue<string>());
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => lines.Enqueue(e.ToString()));
    }

    /// <summary>Adds the recorder to a node's loggers (beside the standard one), at warning level and above.</summary>
    public static void Install(AkkaConfigurationBuilder akka) => akka.ConfigureLoggers(loggers =>
    {
        loggers.LogLevel = LogLevel.WarningLevel;
        loggers.AddLogger<LogRecorder>();
    });

    /// <summary>What <paramref name="system"/> logged so far, oldest first.</summary>
    public static IReadOnlyList<string> Of(ActorSystem system) =>
        Logs.TryGetValue(system, out var lines) ? [.. lines] : [];

    /// <summary>Whether <paramref name="system"/> logged a line containing <paramref name="text"/>.</summary>
    public static bool Logged(ActorSystem system, string text) => Of(system).Any(l => l.Contains(text, StringComparison.Ordinal));
}
