using Glance.Grains.Images;

namespace Glance.Grains.Extensions;

/// <summary>
/// The base of a behaviour extension's rule: an incoming grain call filter that sees only calls
/// of the public contract (interfaces in <c>Grains.Interfaces</c>, which HTTP and direct Orleans
/// callers both use), so internal calls (catalog shards, property sets, import and maintenance
/// verbs, Orleans' system targets) pass untouched.
/// </summary>
public abstract class PublicGrainCallFilter : IIncomingGrainCallFilter
{
    private static readonly System.Reflection.Assembly PublicContract = typeof(IImageGrain).Assembly;

    /// <inheritdoc />
    public Task Invoke(IIncomingGrainCallContext context) =>
        context.Request.GetInterfaceType()?.Assembly == PublicContract
            ? OnPublicCallAsync(context)
            : context.Invoke();

    /// <summary>One call of the public contract; call <c>context.Invoke()</c> to let it through.</summary>
    protected abstract Task OnPublicCallAsync(IIncomingGrainCallContext context);
}
