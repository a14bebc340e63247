using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Linda.Tests.ClusterNode;

/// <summary>Akka's log on stderr, so that stdout carries only the node's protocol lines.</summary>
internal sealed class StderrLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public StderrLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => Console.Error.WriteLine(e.ToString()));
    }
}
