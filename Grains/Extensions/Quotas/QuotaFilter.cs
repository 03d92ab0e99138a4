using System.Collections.Frozen;
using System.Text.Json;

namespace Glance.Grains.Extensions.Quotas;

/// <summary>
/// The quotas rule on the public contract: before an image is created, an upload begins or an
/// import starts, the owner's ledger (<see cref="IProjectQuotaGrain"/>) must grant what it needs,
/// else 413 naming the limit. What an upload reserves stays reserved until it completes or is
/// aborted (renewals keep it), and an upload of unknown size may write only what was reserved.
/// </summary>
internal sealed class QuotaFilter(IGrainFactory grains) : PublicGrainCallFilter
{
    // The image verbs that need room, each with its rule; every other public call goes straight on.
    private static readonly FrozenDictionary<string, Func<QuotaFilter, IIncomingGrainCallContext, IImageStanding, Task>> Rules =
        new Dictionary<string, Func<QuotaFilter, IIncomingGrainCallContext, IImageStanding, Task>>
        {
            [nameof(IImageGrain.CreateAsync)] = (filter, context, _) =>
                filter.WhileReservedAsync(OwnerOfNew(context), context.TargetId.GetGuidKey(), new QuotaNeed(Images: 1), context),
            [nameof(IImageGrain.BeginUploadAsync)] = (filter, context, image) => filter.BeginUploadAsync(context, image),
            [nameof(IImageGrain.ImportAsync)] = (filter, context, image) =>
            {
                // Like Glance: no import while the project is at its size limit; a web-download from
                // queued is one more image in upload (a staged image already counts as one).
                // No image share here: a staged image's bytes must stay counted while its import starts.
                var (owner, status) = image.Standing;
                return filter.WhileReservedAsync(owner, null, new QuotaNeed(Uploading: status == ImageStatus.Uploading ? 0 : 1, Bytes: null), context);
            },
            [nameof(IImageGrain.RenewUploadAsync)] = (filter, context, image) => filter.RenewUploadAsync(context, image),
            [nameof(IImageGrain.CompleteUploadAsync)] = (filter, context, image) => filter.EndUploadAsync(context, image),
            [nameof(IImageGrain.AbortUploadAsync)] = (filter, context, image) => filter.EndUploadAsync(context, image),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    // Every public call passes here: only the image verbs that need room take the async path.
    protected override Task OnPublicCallAsync(IIncomingGrainCallContext context) =>
        context.TargetContext.GrainInstance is IImageStanding image && Rules.TryGetValue(context.InterfaceMethod.Name, out var rule)
            && MayChange(context, image)
            ? rule(this, context, image)
            : context.Invoke();

    /// <summary>
    /// Only a caller the grain will let change the image touches its owner's ledger: anyone else
    /// gets the grain's own answer (not found, forbidden), never a 413 that would tell them the
    /// image exists or how much its owner uses. Calls without a caller are the streaming tier's.
    /// </summary>
    private static bool MayChange(IIncomingGrainCallContext context, IImageStanding image) =>
        context.Request.GetArgumentCount() == 0 || context.Request.GetArgument(0) is not Caller caller
        || context.InterfaceMethod.Name == nameof(IImageGrain.CreateAsync)
        || ImageAccess.CanModify(caller, image.Standing.Owner);

    private async Task RenewUploadAsync(IIncomingGrainCallContext context, IImageStanding image)
    {
        await context.Invoke();
        if (context.Result is true && image.Standing.Owner is { } renewing)
        {
            await Ledger(renewing).TouchAsync((Guid)context.Request.GetArgument(0)!);
        }
    }

    private async Task EndUploadAsync(IIncomingGrainCallContext context, IImageStanding image)
    {
        var ending = image.Standing.Owner;
        try
        {
            await context.Invoke();
        }
        finally
        {
            if (ending is not null)
            {
                await Ledger(ending).ReleaseAsync((Guid)context.Request.GetArgument(0)!);
            }
        }
    }

    private async Task BeginUploadAsync(IIncomingGrainCallContext context, IImageStanding image)
    {
        if (image.Standing.Owner is not { } owner)
        {
            await context.Invoke();
            return;
        }
        var declared = (long?)context.Request.GetArgument(2);
        // The whole image while it uploads: itself, one in upload, and the bytes to come.
        var need = (UploadTarget)context.Request.GetArgument(1)! == UploadTarget.File
            ? new QuotaNeed(Images: 1, Uploading: 1, Bytes: declared)
            : new QuotaNeed(Images: 1, Uploading: 1, StagedBytes: declared);
        var ledger = Ledger(owner);
        var reservation = Guid.NewGuid();
        var reserved = await ledger.ReserveAsync(reservation, context.TargetId.GetGuidKey(), need);
        try
        {
            await context.Invoke();
        }
        catch
        {
            await ledger.ReleaseAsync(reservation);
            throw;
        }
        var ticket = (UploadTicket)context.Result!;
        // Held under the upload's id until it completes or is aborted.
        await ledger.RetainAsync(reservation, ticket.UploadId);
        if (reserved is { } bytes && bytes < ticket.MaxBytes)
        {
            context.Result = ticket with { MaxBytes = bytes };
        }
    }

    private async Task WhileReservedAsync(string? owner, Guid? image, QuotaNeed need, IIncomingGrainCallContext context)
    {
        if (owner is null)
        {
            await context.Invoke();
            return;
        }
        var ledger = Ledger(owner);
        var reservation = Guid.NewGuid();
        await ledger.ReserveAsync(reservation, image, need);
        try
        {
            await context.Invoke();
        }
        finally
        {
            // The catalog counts what the call did from now on.
            await ledger.ReleaseAsync(reservation);
        }
    }

    private IProjectQuotaGrain Ledger(string owner) => grains.GetGrain<IProjectQuotaGrain>(owner);

    /// <summary>
    /// Whose the new image will be: an <c>owner</c> given in the draft, else the caller's project;
    /// null (nothing reserved) when a member names another project, which the grain refuses.
    /// </summary>
    private static string? OwnerOfNew(IIncomingGrainCallContext context)
    {
        var caller = (Caller)context.Request.GetArgument(0)!;
        var owner = NamedOwner(context) ?? caller.ProjectId;
        return caller.IsAdmin || ImageAccess.IsOwner(caller, owner) ? owner : null;
    }

    private static string? NamedOwner(IIncomingGrainCallContext context)
    {
        if (context.Request.GetArgument(1) is ImageDraft draft && draft.Attributes.TryGetValue("owner", out var json))
        {
            try
            {
                using var owner = JsonDocument.Parse(json);
                if (owner.RootElement.ValueKind == JsonValueKind.String)
                {
                    return owner.RootElement.GetString();
                }
            }
            catch (JsonException)
            {
                // The grain refuses the draft itself.
            }
        }
        return null;
    }
}
