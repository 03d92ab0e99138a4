using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Glance.Grains.Extensions.AuditEvents;

/// <summary>
/// Records every mutation of the public contract, from HTTP and direct grain callers alike: each
/// call of a method not marked <c>[ReadOnly]</c> (lease renewals aside) becomes one event after it
/// ran, success or failure, appended before the answer goes back. Only names are recorded —
/// patched paths, property and attribute names, never a value — so nothing secret gets in.
/// </summary>
internal sealed class AuditFilter(IAuditLog log, TimeProvider clock, ILogger<AuditFilter> logger) : PublicGrainCallFilter
{
    private static readonly ConcurrentDictionary<MethodInfo, bool> Mutations = new();

    // Every public call passes here: reads go straight on (no reflection, no async step added).
    protected override Task OnPublicCallAsync(IIncomingGrainCallContext context) =>
        Mutations.GetOrAdd(context.InterfaceMethod, static method =>
            method.GetCustomAttribute<ReadOnlyAttribute>() is null && method.Name != nameof(IImageGrain.RenewUploadAsync))
            ? RecordAsync(context, context.InterfaceMethod)
            : context.Invoke();

    private async Task RecordAsync(IIncomingGrainCallContext context, MethodInfo method)
    {
        var (outcome, status) = ("success", 200);
        try
        {
            await context.Invoke();
        }
        catch (GlanceException e)
        {
            (outcome, status) = ("failure", (int)e.Kind);
            throw;
        }
        catch
        {
            (outcome, status) = ("failure", 500);
            throw;
        }
        finally
        {
            await AppendAsync(context, method, outcome, status);
        }
    }

    private async Task AppendAsync(IIncomingGrainCallContext context, MethodInfo method, string outcome, int status)
    {
        var arguments = Enumerable.Range(0, context.Request.GetArgumentCount()).Select(context.Request.GetArgument).ToList();
        var caller = arguments.OfType<Caller>().FirstOrDefault();
        var now = clock.GetUtcNow();
        var kind = Kind(method.DeclaringType!);
        var operation = $"{kind}.{method.GetCustomAttribute<AliasAttribute>()?.Alias ?? method.Name}";
        var target = context.TargetContext.GrainInstance is IGrainWithGuidKey && context.TargetId.TryGetGuidKey(out var id, out _)
            ? id.ToString() : context.TargetId.Key.ToString();
        var entry = new AuditEvent(AuditEvent.NewId(now), now, caller?.ProjectId ?? (context.TargetContext.GrainInstance as IImageStanding)?.Standing.Owner,
            caller?.UserId, caller?.Roles ?? [], operation, target, Fields(method, arguments), outcome, status,
            RequestContext.Get(GlanceRequestContext.RequestIdKey) as string);
        try
        {
            await log.AppendAsync(entry);
        }
        catch (Exception e)
        {
            // The mutation stands; losing its event is an operator's alarm, not the caller's error.
            logger.LogError(e, "Audit event {Operation} on {Target} could not be recorded", operation, target);
        }
    }

    /// <summary>The names an operation touched: patched paths, draft attributes, property names, tags, members.</summary>
    private static ImmutableArray<string> Fields(MethodInfo method, List<object?> arguments) =>
    [
        .. arguments.SelectMany<object?, string>(argument => argument switch
        {
            ImmutableArray<PatchOperation> operations => operations.Select(o => o.Attribute),
            ImageDraft draft => draft.Attributes.Keys,
            _ => [],
        }).Concat(method.Name switch
        {
            nameof(IImageGrain.SetPropertyAsync) or nameof(IImageGrain.RemovePropertyAsync) when arguments[1] is string name => [name],
            nameof(IImageGrain.TagAsync) or nameof(IImageGrain.UntagAsync) => ["tags"],
            nameof(IImageGrain.AddMemberAsync) or nameof(IImageGrain.RemoveMemberAsync) or nameof(IImageGrain.SetMemberStatusAsync)
                when arguments[1] is string member => [$"members/{member}"],
            _ => [],
        }).Distinct(),
    ];

    /// <summary>"image" for IImageGrain, "metadefs" for IMetadefsGrain, "property-definitions" for IPropertyDefinitionsGrain.</summary>
    private static string Kind(Type contract)
    {
        var name = contract.Name.StartsWith('I') ? contract.Name[1..] : contract.Name;
        name = name.EndsWith("Grain", StringComparison.Ordinal) ? name[..^5] : name;
        return string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
    }
}
