using Xunit;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// Specs that run real databases, processes or clusters: one at a time, never beside each other, so a
/// loaded 2-core CI machine doesn't turn timing into failures. Pure specs still run in parallel with them.
/// The collection runs one PostgreSQL server for the specs that run on both stores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DatabaseCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "database";
}

/// <summary>
/// The RabbitMQ specs: one at a time, never beside other collections, on one shared
/// <see cref="RabbitMqServer"/> (it takes seconds to start; a restart spec stops and starts it again).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqServer>
{
    public const string Name = "rabbitmq";
}
