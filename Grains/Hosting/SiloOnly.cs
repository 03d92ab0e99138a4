using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace Glance.Grains.Hosting;

/// <summary>
/// Marks a grain interface of the service's own plumbing (catalog shards, recovery and
/// maintenance verbs, task bookkeeping): only the silos call it, from their grains and their
/// start-up tasks. <see cref="SiloOnlyFilter"/> refuses a cluster client's call to it.
/// </summary>
[AttributeUsage(AttributeTargets.Interface, Inherited = false)]
public sealed class SiloOnlyAttribute : Attribute;

/// <summary>
/// Marks an internal grain interface that the API nodes call as well as the grains (quotas, audit
/// events, the image cache's nodes, catalog counts, readiness): with a <see cref="ServiceKey"/>
/// configured, only the service's own nodes may call it; without one, any cluster client can.
/// </summary>
[AttributeUsage(AttributeTargets.Interface, Inherited = false)]
public sealed class ServiceNodesOnlyAttribute : Attribute;

/// <summary>
/// The service's own key (<see cref="AzureOptions.ServiceKeyFile"/>), held by its silos and API
/// nodes only. Their calls to the internal interfaces carry it in the request context
/// (<see cref="ServiceKeyStamp"/>); other Orleans services, which hold only the cluster
/// certificate, cannot present it. Null when none is configured.
/// </summary>
public sealed class ServiceKey(string? value)
{
    /// <summary>The shortest key accepted (a random 32 characters is beyond guessing).</summary>
    public const int MinimumLength = 32;

    /// <summary>The request context entry that carries the key.</summary>
    public const string ContextKey = "glance.service-key";

    private readonly byte[]? _value = value is null ? null : Encoding.UTF8.GetBytes(value);

    /// <summary>The key as configured, or null.</summary>
    public string? Value { get; } = value;

    /// <summary>True when a key is configured.</summary>
    public bool IsSet => Value is not null;

    /// <summary>True when <paramref name="presented"/> is the key (compared in constant time).</summary>
    public bool Accepts(object? presented) =>
        _value is not null && presented is string text && CryptographicOperations.FixedTimeEquals(_value, Encoding.UTF8.GetBytes(text));

    /// <summary>Which internal interface <paramref name="contract"/> is (read once per interface: this runs on every grain call).</summary>
    internal static Guard GuardOf(Type contract) => s_guards.GetOrAdd(contract, type =>
        type.GetCustomAttribute<SiloOnlyAttribute>() is not null ? Guard.SiloOnly
        : type.GetCustomAttribute<ServiceNodesOnlyAttribute>() is not null ? Guard.ServiceNodesOnly
        : Guard.Public);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Guard> s_guards = new();

    internal enum Guard { Public, SiloOnly, ServiceNodesOnly }
}

/// <summary>
/// On the service's own nodes (API nodes' clients and silos, when a <see cref="ServiceKey"/> is set):
/// puts the key in the request context of each call to an internal interface, and only those.
/// </summary>
public sealed class ServiceKeyStamp(ServiceKey key) : IOutgoingGrainCallFilter
{
    /// <inheritdoc />
    public Task Invoke(IOutgoingGrainCallContext context) =>
        // Runs on every outgoing call of a silo: a public one goes straight on.
        key.Value is { } value && context.InterfaceMethod?.DeclaringType is { } contract
            && ServiceKey.GuardOf(contract) != ServiceKey.Guard.Public
            ? StampedAsync(context, value)
            : context.Invoke();

    // Async so that the entry does not stay in the caller's own request context afterwards.
    private static async Task StampedAsync(IOutgoingGrainCallContext context, string value)
    {
        RequestContext.Set(ServiceKey.ContextKey, value);
        await context.Invoke();
    }
}

/// <summary>
/// Keeps cluster clients (API nodes, other Orleans services such as samples/DirectClient) off the
/// service's internal interfaces; calls from grains always pass.
/// <list type="bullet">
/// <item>With a <see cref="ServiceKey"/>: a client's call to a <see cref="SiloOnlyAttribute"/> or
/// <see cref="ServiceNodesOnlyAttribute"/> interface must carry the key. This is a boundary: the
/// key is given to the service's nodes only.</item>
/// <item>Without one: a client's call to a <see cref="SiloOnlyAttribute"/> interface is refused
/// unless it comes from a silo's own hosted client (its start-up tasks). That keeps well-behaved
/// clients on the contract but is no boundary: the client id is the client's to choose (README).</item>
/// </list>
/// </summary>
public sealed class SiloOnlyFilter(ServiceKey key) : IIncomingGrainCallFilter
{
    // Orleans names every client "sys.client/{key}", and a silo's hosted client's key is
    // "hosted-{silo address}".
    private static readonly GrainType ClientType = GrainType.Create("sys.client");
    private const string HostedClientPrefix = "hosted-";

    /// <inheritdoc />
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.SourceId is { } source && source.Type.Equals(ClientType)
            && context.InterfaceMethod?.DeclaringType is { } contract
            && ServiceKey.GuardOf(contract) is var guard && guard != ServiceKey.Guard.Public)
        {
            if (key.IsSet)
            {
                if (!key.Accepts(RequestContext.Get(ServiceKey.ContextKey)))
                {
                    throw GlanceException.Forbidden($"{contract.Name} is internal to the service: only its own nodes call it.");
                }
            }
            else if (guard == ServiceKey.Guard.SiloOnly && !source.Key.ToString().StartsWith(HostedClientPrefix, StringComparison.Ordinal))
            {
                throw GlanceException.Forbidden($"{contract.Name} is the service's own plumbing: only its silos call it.");
            }
        }
        return context.Invoke();
    }
}

/// <summary>Where the filters above are registered (the azure profile's silos and clients).</summary>
public static class InternalInterfaceHosting
{
    /// <summary>A silo refuses clients' calls to the internal interfaces (<see cref="SiloOnlyFilter"/>), and stamps its own with <paramref name="serviceKey"/> when one is set.</summary>
    public static ISiloBuilder AddInternalInterfaceGuard(this ISiloBuilder silo, string? serviceKey)
    {
        silo.Services.AddSingleton(new ServiceKey(serviceKey));
        silo.AddIncomingGrainCallFilter<SiloOnlyFilter>();
        if (serviceKey is not null)
        {
            // The silo's hosted client (start-up repairs) calls the plumbing as a client does.
            silo.AddOutgoingGrainCallFilter<ServiceKeyStamp>();
        }
        return silo;
    }

    /// <summary>A client of the service's own (an API node) presents <paramref name="serviceKey"/> on its calls to the internal interfaces.</summary>
    public static IClientBuilder AddServiceKey(this IClientBuilder client, string serviceKey)
    {
        client.Services.AddSingleton(new ServiceKey(serviceKey));
        client.AddOutgoingGrainCallFilter<ServiceKeyStamp>();
        return client;
    }
}
