using System.Reflection;

namespace Glance.Grains.Hosting;

/// <summary>
/// Marks a grain interface of the service's own plumbing (catalog shards, recovery and
/// maintenance verbs, task bookkeeping): only the silos call it, from their grains and their
/// start-up tasks. <see cref="SiloOnlyFilter"/> refuses a cluster client's call to it.
/// </summary>
[AttributeUsage(AttributeTargets.Interface, Inherited = false)]
public sealed class SiloOnlyAttribute : Attribute;

/// <summary>
/// Refuses calls to <see cref="SiloOnlyAttribute"/> interfaces that come from a cluster client
/// (an API node, or another Orleans service such as samples/DirectClient), so such a client
/// can use only the public contract (<c>Grains.Interfaces</c>) and the few internal verbs an API
/// node needs. Calls from grains and from a silo's own hosted client (its start-up tasks) pass.
/// This keeps well-behaved clients on the contract; it is not a security boundary: the client id
/// is the client's to choose, so the cluster certificate stays the boundary (README).
/// </summary>
public sealed class SiloOnlyFilter : IIncomingGrainCallFilter
{
    // Orleans names every client "sys.client/{key}", and a silo's hosted client's key is
    // "hosted-{silo address}".
    private static readonly GrainType ClientType = GrainType.Create("sys.client");
    private const string HostedClientPrefix = "hosted-";

    // Runs on every grain call: the attribute is read once per interface, and only for clients' calls.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, bool> s_siloOnly = new();

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.SourceId is { } source && source.Type.Equals(ClientType)
            && context.InterfaceMethod?.DeclaringType is { } contract
            && s_siloOnly.GetOrAdd(contract, type => type.GetCustomAttribute<SiloOnlyAttribute>() is not null)
            && !source.Key.ToString().StartsWith(HostedClientPrefix, StringComparison.Ordinal))
        {
            throw GlanceException.Forbidden($"{contract.Name} is the service's own plumbing: only its silos call it.");
        }
        return context.Invoke();
    }
}
