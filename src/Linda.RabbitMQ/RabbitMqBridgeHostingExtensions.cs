using Akka.Actor;
using Akka.Hosting;
using Linda.Hosting;

namespace Linda.RabbitMQ;

/// <summary>Runs a <see cref="RabbitMqBridge"/> in an Akka.Hosting application that runs WithLinda.</summary>
public static class RabbitMqBridgeHostingExtensions
{
    /// <summary>
    /// Starts the RabbitMQ bridge with the ActorSystem (pushing into this node's Linda queues) and stops
    /// it at coordinated shutdown (service-unbind), before the queues stop. With an
    /// <see cref="RabbitMqBridgeOptions.OutcomeExchange"/> it also sets <c>linda.queue.outcome-events = on</c>.
    /// The first connection is made at start: a RabbitMQ that can't be reached, or lacks a queue the
    /// options name, fails the start with the reason.
    /// </summary>
    /// <exception cref="ArgumentException">An option is wrong (checked here, before anything starts).</exception>
    public static AkkaConfigurationBuilder WithRabbitMqBridge(this AkkaConfigurationBuilder builder, RabbitMqBridgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.OutcomeExchange is not null)
            builder.AddHocon("linda.queue.outcome-events = on", HoconAddMode.Prepend);
        return builder.AddStartup(async (system, _) =>
        {
            var bridge = new RabbitMqBridge(options, new LindaClient(system), system);
            await bridge.StartAsync();
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, "linda-rabbitmq-bridge", async () =>
            {
                await bridge.DisposeAsync();
                return Akka.Done.Instance;
            });
        });
    }
}
